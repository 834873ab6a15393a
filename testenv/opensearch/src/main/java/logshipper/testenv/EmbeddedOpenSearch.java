package logshipper.testenv;

import java.lang.reflect.Constructor;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginInfo;

/**
 * A real single-node OpenSearch server, run in-process from the jars on the classpath
 * (no distribution, no Docker). Used by logshipper's integration tests.
 *
 * <pre>
 * java -cp 'target/classes:target/lib/*' logshipper.testenv.EmbeddedOpenSearch \
 *      [--port 9200] [--data DIR] [--name NODE] [key=value ...]
 * </pre>
 *
 * Extra OpenSearch settings: trailing {@code key=value} arguments, or system
 * properties {@code -Dos.setting.KEY=VALUE}. They override the defaults of {@link NodeLauncher},
 * which holds the command line, the home folder, the status line and the shutdown hook.
 * Runs until killed; SIGTERM/SIGINT close the node cleanly via a shutdown hook.
 */
public final class EmbeddedOpenSearch {

    /**
     * The netty4 transport plugin: {@code Netty4Plugin} up to OpenSearch 2.x,
     * renamed {@code Netty4ModulePlugin} in 3.0. Looked up by name so that this
     * one source builds against both (testenv/opensearch.sh --version 2|3).
     */
    private static final String[] NETTY_PLUGIN_CLASSES = {
        "org.opensearch.transport.Netty4ModulePlugin",
        "org.opensearch.transport.Netty4Plugin",
    };

    /**
     * A node that loads classpath plugins, through Node's protected constructor
     * (Environment, Collection, boolean). The collection holds plugin classes up
     * to 2.x and {@link PluginInfo}s (naming the class) in 3.x; reflection picks
     * the form instead of a second copy of this launcher per major version.
     */
    static Node newNode(Environment env, Class<? extends Plugin> plugin) throws Exception {
        Constructor<Node> ctor = Node.class.getDeclaredConstructor(Environment.class, Collection.class, boolean.class);
        ctor.setAccessible(true);
        Type element = ((ParameterizedType) ctor.getGenericParameterTypes()[1]).getActualTypeArguments()[0];
        Collection<?> plugins;
        if (element == PluginInfo.class) {
            plugins = List.of(new PluginInfo(plugin.getName(), "classpath plugin", "NA", Version.CURRENT,
                System.getProperty("java.specification.version"), plugin.getName(), Collections.emptyList(), false));
        } else {
            plugins = List.of(plugin);
        }
        return ctor.newInstance(env, plugins, true);
    }

    @SuppressWarnings("unchecked")
    static Class<? extends Plugin> nettyPlugin() throws ClassNotFoundException {
        for (String name : NETTY_PLUGIN_CLASSES) {
            try {
                return (Class<? extends Plugin>) Class.forName(name);
            } catch (ClassNotFoundException e) {
                // the other major version's name
            }
        }
        throw new ClassNotFoundException("no netty4 transport plugin on the classpath (tried " + String.join(", ", NETTY_PLUGIN_CLASSES) + ")");
    }

    /** Only honoured by index creation as a persistent cluster setting, so it is also applied as one after start. */
    private static final String DEFAULT_REPLICAS = "cluster.default_number_of_replicas";

    public static void main(String[] args) {
        NodeLauncher.main("OpenSearch", "EmbeddedOpenSearch", "os.setting.", "OPENSEARCH", args, EmbeddedOpenSearch::run);
    }

    private static void run(NodeLauncher l) throws Exception {
        Settings.Builder b = Settings.builder();
        l.settings(Map.of(DEFAULT_REPLICAS, "0")).forEach(b::put);
        Settings settings = b.build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.<String, String>emptyMap(), l.config, () -> "logshipper-test");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env);

        final Node node = newNode(env, nettyPlugin());
        node.start();
        // New indices get this many replicas unless they say otherwise (0 => a single node goes green).
        node.client().admin().cluster().prepareUpdateSettings()
            .setPersistentSettings(Settings.builder().put(DEFAULT_REPLICAS, settings.get(DEFAULT_REPLICAS)).build())
            .get();

        String http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
        l.serve("OPENSEARCH STARTED", Version.CURRENT, http, settings.get("cluster.name"), () -> {
            node.close();
            return node.awaitClose(30, TimeUnit.SECONDS);
        });
    }

    private EmbeddedOpenSearch() {}
}
