package logshipper.testenv;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
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
 * properties {@code -Des7.setting.KEY=VALUE}. They override the defaults of {@link NodeLauncher},
 * which holds the command line, the home folder, the status line and the shutdown hook.
 * Runs until killed; SIGTERM/SIGINT close the node cleanly via a shutdown hook.
 */
public final class EmbeddedElasticsearch7 {

    /** Node subclass only to reach the protected constructor that accepts classpath plugins. */
    static final class PluginNode extends Node {
        PluginNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) {
        NodeLauncher.main("Elasticsearch 7.17", "EmbeddedElasticsearch7", "es7.setting.", "ELASTICSEARCH7", args, EmbeddedElasticsearch7::run);
    }

    private static void run(NodeLauncher l) throws Exception {
        Settings.Builder b = Settings.builder();
        l.settings(Map.of()).forEach(b::put);
        Settings settings = b.build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.<String, String>emptyMap(), l.config, () -> "logshipper-test");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env);

        final Node node = new PluginNode(env, List.of(Netty4Plugin.class));
        node.start();
        // Elasticsearch 7.17 has no cluster.default_number_of_replicas (an OpenSearch addition): indices
        // created without number_of_replicas get 1 replica and stay yellow on this single node.

        String http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
        l.serve("ELASTICSEARCH STARTED", Version.CURRENT, http, settings.get("cluster.name"), () -> {
            node.close();
            return node.awaitClose(30, TimeUnit.SECONDS);
        });
    }

    private EmbeddedElasticsearch7() {}
}
