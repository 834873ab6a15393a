package logshipper.testenv;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * A real single-node Elasticsearch 8.x server, run in-process from the Maven Central jars (no
 * distribution, no Docker). Used by logshipper's integration tests; started by testenv/elasticsearch8.sh.
 *
 * <p>Unlike 7.17, an 8.x node takes no plugins from the class path: {@link PluginsLoader} loads each
 * module from a folder {@code <home>/modules/<name>/} (its jars and {@code plugin-descriptor.properties})
 * into a module layer of its own on top of the server's. So the server and its libraries must be named
 * modules on the JVM's module path ({@code --module-path target/lib --add-modules ALL-MODULE-PATH}), and
 * this launcher, on the class path, lays the modules out under the node's home on each start: one folder
 * per folder of {@code target/modules} (or {@code -Dtestenv.modules=DIR}), with symbolic links to the jars
 * and the descriptor that Elastic ships inside each module's jar ({@code META-INF/es-plugins/<name>/}).
 * It then does what {@code org.elasticsearch.bootstrap.Elasticsearch} does after the launcher CLI has
 * handed over the settings, minus the security manager or entitlements, the native controllers and the
 * bootstrap checks: {@code new Node(environment, pluginsLoader).start()}.
 *
 * <pre>
 * java --module-path target/lib --add-modules ALL-MODULE-PATH -cp target/classes \
 *      logshipper.testenv.EmbeddedElasticsearch8 [--port 9200] [--data DIR] [--name NODE] [key=value ...]
 * </pre>
 *
 * Extra settings: trailing {@code key=value} arguments, or {@code -Des8.setting.KEY=VALUE}.
 */
public final class EmbeddedElasticsearch8 {

    public static void main(String[] args) {
        NodeLauncher.main("Elasticsearch 8", "EmbeddedElasticsearch8", "es8.setting.", "ELASTICSEARCH8", args, EmbeddedElasticsearch8::run);
    }

    private static void run(NodeLauncher l) throws Exception {
        Path modules = layOutModules(l.home.resolve("modules"));
        Settings.Builder b = Settings.builder();
        l.settings(Map.of(
            // x-pack-core is loaded (for the xpack.* settings and the basic license), its security plugin is not.
            "xpack.security.enabled", "false"
        )).forEach(b::put);
        Settings settings = b.build();

        // As bootstrap.Elasticsearch: Elasticsearch's logging API (used by the libraries' static initializers,
        // x-content's among them) gets its log4j provider before anything else.
        LogConfigurator.configureESLogging();
        LogConfigurator.registerErrorListener();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), l.config, () -> l.name);
        LogConfigurator.setClusterName(settings.get("cluster.name"));
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);
        if (!env.modulesDir().equals(modules)) {
            throw new IllegalStateException("modules laid out in " + modules + ", but the node reads " + env.modulesDir());
        }

        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir()), PluginsLoader.loadPluginsBundles(env.pluginsDir()), Map.of());
        final Node node = new Node(env, plugins);
        node.start();
        // Like 7.17, Elasticsearch has no cluster.default_number_of_replicas (an OpenSearch setting): indices
        // created without number_of_replicas get 1 replica and stay yellow on this single node.

        String http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
        l.serve("ELASTICSEARCH STARTED", Build.current().version(), http, settings.get("cluster.name"), () -> {
            node.close();
            return node.awaitClose(30, TimeUnit.SECONDS);
        });
    }

    /** The folder of module folders the build made: target/modules next to target/classes. */
    private static Path builtModules() throws Exception {
        String prop = System.getProperty("testenv.modules");
        if (prop != null && !prop.isEmpty()) {
            return Paths.get(prop).toAbsolutePath().normalize();
        }
        Path classes = Paths.get(EmbeddedElasticsearch8.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return classes.getParent().resolve("modules");
    }

    /**
     * Makes dest a distribution's modules/ folder: dest/<name>/ holds links to the jars of
     * target/modules/<name>/ and the plugin-descriptor.properties found in one of them.
     */
    private static Path layOutModules(Path dest) throws Exception {
        Path src = builtModules();
        if (!Files.isDirectory(src)) {
            throw new IllegalStateException("no module folders at " + src + " (run testenv/elasticsearch8.sh build)");
        }
        deleteTree(dest);
        Files.createDirectories(dest);
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(src, Files::isDirectory)) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                Path out = Files.createDirectories(dest.resolve(name));
                String entry = "META-INF/es-plugins/" + name + "/plugin-descriptor.properties";
                boolean found = false;
                try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, "*.jar")) {
                    for (Path jar : jars) {
                        Files.createSymbolicLink(out.resolve(jar.getFileName()), jar.toAbsolutePath());
                        try (ZipFile zip = new ZipFile(jar.toFile())) {
                            ZipEntry e = zip.getEntry(entry);
                            if (e != null) {
                                try (InputStream in = zip.getInputStream(e)) {
                                    Files.copy(in, out.resolve("plugin-descriptor.properties"));
                                }
                                found = true;
                            }
                        }
                    }
                }
                if (!found) {
                    throw new IllegalStateException("no jar in " + dir + " has " + entry);
                }
            }
        }
        return dest;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(p)) {
            for (Path q : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(q);
            }
        }
    }

    private EmbeddedElasticsearch8() {}
}
