package logshipper.testenv;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.Version;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;

/**
 * A real single-node Elasticsearch 7.17 server (OSS core jar + transport-netty4, no x-pack modules), run in-process from the jars on the classpath
 * (no distribution, no Docker). Used by logshipper's integration tests.
 *
 * <pre>
 * java -cp 'target/classes:target/lib/*' logshipper.testenv.EmbeddedElasticsearch7 \
 *      [--port 9200] [--data DIR] [--name NODE] [key=value ...]
 * </pre>
 *
 * Extra Elasticsearch settings: trailing {@code key=value} arguments, or system
 * properties {@code -Des7.setting.KEY=VALUE}. They override the defaults below.
 * Runs until killed; SIGTERM/SIGINT close the node cleanly via a shutdown hook.
 */
public final class EmbeddedElasticsearch7 {

    /** Node subclass only to reach the protected constructor that accepts classpath plugins. */
    static final class PluginNode extends Node {
        PluginNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    private static final String SYSPROP_PREFIX = "es7.setting.";

    // LogConfigurator redirects System.out/err into log4j; keep the raw streams for our own status lines.
    private static final PrintStream out = System.out;
    private static final PrintStream err = System.err;

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            err.println("[testenv] FAILED to start Elasticsearch 7.17 node: " + t);
            t.printStackTrace(err);
            err.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    private static void run(String[] args) throws Exception {
        int port = intEnv("ELASTICSEARCH7_PORT", 9200);
        String data = System.getenv("ELASTICSEARCH7_DATA");
        String name = null;
        Settings.Builder extra = Settings.builder();

        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port": port = Integer.parseInt(need(args, ++i, a)); break;
                case "--data": data = need(args, ++i, a); break;
                case "--name": name = need(args, ++i, a); break;
                case "-h": case "--help":
                    out.println("usage: EmbeddedElasticsearch7 [--port P] [--data DIR] [--name NODE] [key=value ...]");
                    return;
                default:
                    int eq = a.indexOf('=');
                    if (eq <= 0) {
                        die("unexpected argument '" + a + "' (want --port/--data/--name or key=value)");
                    }
                    extra.put(a.substring(0, eq), a.substring(eq + 1));
            }
        }
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(SYSPROP_PREFIX) && key.length() > SYSPROP_PREFIX.length()) {
                extra.put(key.substring(SYSPROP_PREFIX.length()), System.getProperty(key));
            }
        }
        if (data == null) {
            data = Paths.get(System.getProperty("java.io.tmpdir"), "logshipper-elasticsearch7-" + port).toString();
        }
        if (name == null) {
            name = "logshipper-test-" + port;
        }

        Path home = Paths.get(data).toAbsolutePath().normalize();
        Path config = home.resolve("config");
        for (Path p : List.of(home, config, home.resolve("data"), home.resolve("logs"), home.resolve("plugins"), home.resolve("tmp"))) {
            Files.createDirectories(p);
        }
        try (InputStream in = EmbeddedElasticsearch7.class.getResourceAsStream("/testenv-log4j2.properties")) {
            if (in == null) {
                die("testenv-log4j2.properties missing from classpath");
            }
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }

        Settings defaults = Settings.builder()
            .put("cluster.name", "logshipper-test")
            .put("node.name", name)
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(port))
            .put("transport.port", "9300-9400")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false")
            .put("action.auto_create_index", "true")
            .put("bootstrap.memory_lock", "false")
            .put("http.cors.enabled", "false")
            .build();
        Settings settings = Settings.builder().put(defaults).put(extra.build()).build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.<String, String>emptyMap(), config, () -> "logshipper-test");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env);

        long t0 = System.nanoTime();
        final Node node = new PluginNode(env, List.of(Netty4Plugin.class));
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("[testenv] shutdown requested, closing node");
            try {
                node.close();
                if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                    out.println("[testenv] node did not close within 30s");
                }
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                out.println("[testenv] node closed");
                out.flush();
                stopped.countDown();
                org.apache.logging.log4j.LogManager.shutdown();
            }
        }, "testenv-shutdown"));

        node.start();
        // Elasticsearch 7.17 has no cluster.default_number_of_replicas (an OpenSearch addition): indices
        // created without number_of_replicas get 1 replica and stay yellow on this single node.

        String http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
        out.printf("[testenv] ELASTICSEARCH STARTED version=%s http=%s cluster=%s node=%s home=%s pid=%d startup_ms=%d%n",
            Version.CURRENT, http, settings.get("cluster.name"), name, home, ProcessHandle.current().pid(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        out.flush();
        stopped.await();
    }

    private static String need(String[] args, int i, String flag) {
        if (i >= args.length) {
            die(flag + " needs a value");
        }
        return args[i];
    }

    private static int intEnv(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : Integer.parseInt(v);
    }

    private static void die(String msg) {
        err.println("[testenv] " + msg);
        err.flush();
        Runtime.getRuntime().halt(2);
    }

    private EmbeddedElasticsearch7() {}
}
