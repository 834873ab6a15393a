package logshipper.testenv;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The half of the embedded test nodes' launchers that does not depend on the server's API, shared by
 * EmbeddedOpenSearch, EmbeddedElasticsearch7 and EmbeddedElasticsearch8 (each Maven project under testenv/
 * compiles this folder next to its own source): the command line, the node's home folder, the settings
 * every node gets, the status line node.sh waits for, and the shutdown hook.
 *
 * <pre>
 * java ... MainClass [--port 9200] [--data DIR] [--name NODE] [key=value ...]
 * </pre>
 *
 * Extra settings: trailing {@code key=value} arguments, or system properties
 * {@code -D<prefix>KEY=VALUE}; they override the defaults (arguments win over properties).
 * Runs until killed; SIGTERM/SIGINT close the node cleanly through a shutdown hook.
 */
public final class NodeLauncher {

    /** The product's part: build and start the node from the launcher's settings. */
    public interface Body {
        void run(NodeLauncher launcher) throws Exception;
    }

    /** Closes the node; false when it did not close in time. */
    public interface Closer {
        boolean close() throws Exception;
    }

    // The server's LogConfigurator redirects System.out/err into log4j; keep the raw streams for our own lines.
    public static final PrintStream OUT = System.out;
    public static final PrintStream ERR = System.err;

    /** For messages, e.g. "Elasticsearch 8". */
    public final String product;
    public final int port;
    public final String name;
    /** The node's home (path.home): the --data folder. */
    public final Path home;
    public final Path config;
    private final Map<String, String> extra;
    private final long t0 = System.nanoTime();

    private NodeLauncher(String product, int port, String name, Path home, Map<String, String> extra) {
        this.product = product;
        this.port = port;
        this.name = name;
        this.home = home;
        this.config = home.resolve("config");
        this.extra = extra;
    }

    /**
     * Parses args, lays out the home folder (config/ with testenv-log4j2.properties from the class
     * path as log4j2.properties, data/, logs/, plugins/, tmp/) and runs body. Any failure prints one
     * FAILED line with its stack trace and exits 1.
     *
     * @param sysPropPrefix e.g. "es8.setting.": -Des8.setting.KEY=VALUE sets KEY
     * @param envPrefix     e.g. "ELASTICSEARCH8": ELASTICSEARCH8_PORT, ELASTICSEARCH8_DATA
     */
    public static void main(String product, String mainClass, String sysPropPrefix, String envPrefix, String[] args, Body body) {
        try {
            NodeLauncher l = parse(product, mainClass, sysPropPrefix, envPrefix, args);
            if (l != null) {
                l.prepareHome();
                body.run(l);
            }
        } catch (Throwable t) {
            ERR.println("[testenv] FAILED to start " + product + " node: " + t);
            t.printStackTrace(ERR);
            ERR.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    private static NodeLauncher parse(String product, String mainClass, String sysPropPrefix, String envPrefix, String[] args) {
        int port = intEnv(envPrefix + "_PORT", 9200);
        String data = System.getenv(envPrefix + "_DATA");
        String name = null;
        Map<String, String> props = new LinkedHashMap<>();
        Map<String, String> fromArgs = new LinkedHashMap<>();

        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port": port = Integer.parseInt(need(args, ++i, a)); break;
                case "--data": data = need(args, ++i, a); break;
                case "--name": name = need(args, ++i, a); break;
                case "-h": case "--help":
                    OUT.println("usage: " + mainClass + " [--port P] [--data DIR] [--name NODE] [key=value ...]");
                    return null;
                default:
                    int eq = a.indexOf('=');
                    if (eq <= 0) {
                        die("unexpected argument '" + a + "' (want --port/--data/--name or key=value)");
                    }
                    fromArgs.put(a.substring(0, eq), a.substring(eq + 1));
            }
        }
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(sysPropPrefix) && key.length() > sysPropPrefix.length()) {
                props.put(key.substring(sysPropPrefix.length()), System.getProperty(key));
            }
        }
        props.putAll(fromArgs);
        if (data == null) {
            data = Paths.get(System.getProperty("java.io.tmpdir"), "logshipper-" + envPrefix.toLowerCase() + "-" + port).toString();
        }
        if (name == null) {
            name = "logshipper-test-" + port;
        }
        return new NodeLauncher(product, port, name, Paths.get(data).toAbsolutePath().normalize(), props);
    }

    private void prepareHome() throws Exception {
        for (Path p : List.of(home, config, home.resolve("data"), home.resolve("logs"), home.resolve("plugins"), home.resolve("tmp"))) {
            Files.createDirectories(p);
        }
        try (InputStream in = NodeLauncher.class.getResourceAsStream("/testenv-log4j2.properties")) {
            if (in == null) {
                die("testenv-log4j2.properties missing from classpath");
            }
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * The node's settings, in order: what every test node gets, then productDefaults (which may
     * replace those), then the user's settings.
     */
    public Map<String, String> settings(Map<String, String> productDefaults) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("cluster.name", "logshipper-test");
        s.put("node.name", name);
        s.put("path.home", home.toString());
        s.put("path.data", home.resolve("data").toString());
        s.put("path.logs", home.resolve("logs").toString());
        s.put("network.host", "127.0.0.1");
        s.put("http.port", Integer.toString(port));
        s.put("transport.port", "9300-9400");
        s.put("http.type", "netty4");
        s.put("transport.type", "netty4");
        s.put("discovery.type", "single-node");
        s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        s.put("action.auto_create_index", "true");
        s.put("bootstrap.memory_lock", "false");
        s.put("http.cors.enabled", "false");
        s.putAll(productDefaults);
        s.putAll(extra);
        return s;
    }

    /**
     * Installs the shutdown hook that closes the node (closer), prints the line node.sh waits for
     * ("[testenv] <mark> version=... http=..."), and blocks until the node is closed.
     */
    public void serve(String mark, Object version, String http, String clusterName, Closer closer) throws InterruptedException {
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            OUT.println("[testenv] shutdown requested, closing node");
            try {
                if (!closer.close()) {
                    OUT.println("[testenv] node did not close within 30s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                OUT.println("[testenv] node closed");
                OUT.flush();
                stopped.countDown();
                org.apache.logging.log4j.LogManager.shutdown();
            }
        }, "testenv-shutdown"));
        OUT.printf("[testenv] %s version=%s http=%s cluster=%s node=%s home=%s pid=%d startup_ms=%d%n",
            mark, version, http, clusterName, name, home, ProcessHandle.current().pid(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        OUT.flush();
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

    public static void die(String msg) {
        ERR.println("[testenv] " + msg);
        ERR.flush();
        Runtime.getRuntime().halt(2);
    }
}
