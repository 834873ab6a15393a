package logshipper.testenv.module;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.elasticsearch.Build;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateUpdateTask;
import org.elasticsearch.cluster.health.ClusterStateHealth;
import org.elasticsearch.cluster.metadata.DataStream;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.metadata.MetadataDataStreamsService;
import org.elasticsearch.cluster.metadata.MetadataIndexTemplateService;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Priority;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.common.Strings;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.Index;
import org.elasticsearch.index.IndexNotFoundException;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * The test node's stand-ins for REST endpoints whose Elasticsearch modules are not published to Maven
 * Central (only the server, transport-netty4 and x-pack-core are). Loaded as the module
 * {@code logshipper-testenv} (target/modules/logshipper-testenv/), see ../README.md, "Elasticsearch 8".
 *
 * <ul>
 * <li>{@code GET /} and {@code HEAD /} (module rest-root): the same body as rest-root's, from
 *     {@link Build#current()}, the cluster state and Lucene.</li>
 * <li>{@code GET /_data_stream[/{name}]} and {@code DELETE /_data_stream/{name}} (module data-streams):
 *     the data streams themselves (templates with {@code data_stream}, creation on the first write,
 *     .ds- backing indices, {@code create}-only writes) are the server's own; these two only read the
 *     cluster state and remove a stream with the server's {@link MetadataDataStreamsService#deleteDataStreams}.
 *     GET answers the main fields of the real answer (name, timestamp_field, indices, generation, status,
 *     template, hidden, system, allow_custom_routing, replicated, rollover_on_write, _meta).</li>
 * </ul>
 */
public class RestShimsPlugin extends Plugin implements ActionPlugin {

    private volatile ClusterService clusterService;
    private volatile Settings settings = Settings.EMPTY;

    @Override
    public Collection<?> createComponents(PluginServices services) {
        this.clusterService = services.clusterService();
        this.settings = services.environment().settings();
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry namedWriteableRegistry,
            RestController restController, ClusterSettings clusterSettings, IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter, IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<DiscoveryNodes> nodesInCluster, Predicate<NodeFeature> clusterSupportsFeature) {
        return List.of(new Main(), new GetDataStreams(), new DeleteDataStreams());
    }

    private static void send(RestChannel channel, Exception e) {
        try {
            channel.sendResponse(new RestResponse(channel, e));
        } catch (IOException io) {
            io.addSuppressed(e);
            throw new RuntimeException(io);
        }
    }

    /** rest-root's RestMainAction. */
    final class Main extends BaseRestHandler {
        @Override
        public String getName() {
            return "logshipper_testenv_main_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                ClusterState state = clusterService.state();
                Build build = Build.current();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", clusterService.getNodeName());
                b.field("cluster_name", state.getClusterName().value());
                b.field("cluster_uuid", state.metadata().clusterUUID());
                b.startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    /**
     * The streams the request names: {name} is a comma-separated list of names and wildcards
     * (none, * or _all: every stream). A plain name that is not a stream is an error, as in Elasticsearch.
     */
    private static List<DataStream> resolve(ClusterState state, String names) {
        Map<String, DataStream> all = state.metadata().dataStreams();
        String[] parts = Strings.splitStringByCommaToArray(names == null ? "" : names);
        if (parts.length == 0 || (parts.length == 1 && (parts[0].equals("*") || parts[0].equals("_all")))) {
            return new ArrayList<>(all.values());
        }
        Set<DataStream> out = new LinkedHashSet<>();
        for (String p : parts) {
            if (Regex.isSimpleMatchPattern(p)) {
                all.forEach((n, ds) -> {
                    if (Regex.simpleMatch(p, n)) {
                        out.add(ds);
                    }
                });
            } else if (all.containsKey(p)) {
                out.add(all.get(p));
            } else {
                throw new IndexNotFoundException(p);
            }
        }
        return new ArrayList<>(out);
    }

    /** data-streams' GET /_data_stream/{name}. */
    final class GetDataStreams extends BaseRestHandler {
        @Override
        public String getName() {
            return "logshipper_testenv_get_data_streams_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/_data_stream"), new Route(RestRequest.Method.GET, "/_data_stream/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            String names = request.param("name");
            request.param("expand_wildcards"); // accepted, as by the real handler (hidden streams are listed too)
            request.paramAsBoolean("include_defaults", false);
            request.paramAsBoolean("verbose", false);
            return channel -> {
                ClusterState state = clusterService.state();
                List<DataStream> streams;
                try {
                    streams = resolve(state, names);
                } catch (IndexNotFoundException e) {
                    send(channel, e);
                    return;
                }
                XContentBuilder b = channel.newBuilder();
                b.startObject().startArray("data_streams");
                for (DataStream ds : streams) {
                    b.startObject();
                    b.field("name", ds.getName());
                    b.startObject("timestamp_field").field("name", DataStream.TIMESTAMP_FIELD_NAME).endObject();
                    b.startArray("indices");
                    for (Index i : ds.getIndices()) {
                        b.startObject().field("index_name", i.getName()).field("index_uuid", i.getUUID()).endObject();
                    }
                    b.endArray();
                    b.field("generation", ds.getGeneration());
                    if (ds.getMetadata() != null) {
                        b.field("_meta", ds.getMetadata());
                    }
                    String[] backing = ds.getIndices().stream().map(Index::getName).toArray(String[]::new);
                    b.field("status", new ClusterStateHealth(state, backing).getStatus().name());
                    String template = MetadataIndexTemplateService.findV2Template(state.metadata(), ds.getName(), ds.isHidden());
                    if (template != null) {
                        b.field("template", template);
                    }
                    b.field("hidden", ds.isHidden());
                    b.field("system", ds.isSystem());
                    b.field("allow_custom_routing", ds.isAllowCustomRouting());
                    b.field("replicated", ds.isReplicated());
                    b.field("rollover_on_write", ds.rolloverOnWrite());
                    b.endObject();
                }
                b.endArray().endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    /** data-streams' DELETE /_data_stream/{name}: the streams and their backing indices. */
    final class DeleteDataStreams extends BaseRestHandler {
        @Override
        public String getName() {
            return "logshipper_testenv_delete_data_streams_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.DELETE, "/_data_stream/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            String names = request.param("name");
            request.param("expand_wildcards");
            TimeValue timeout = request.paramAsTime("master_timeout", TimeValue.timeValueSeconds(30));
            return channel -> clusterService.submitUnbatchedStateUpdateTask("logshipper-testenv delete data streams [" + names + "]",
                new ClusterStateUpdateTask(Priority.HIGH, timeout) {
                    @Override
                    public ClusterState execute(ClusterState current) {
                        List<DataStream> streams = resolve(current, names);
                        if (streams.isEmpty()) {
                            if (Regex.isSimpleMatchPattern(names)) {
                                return current; // a wildcard that matches nothing: acknowledged, as in Elasticsearch
                            }
                            throw new ResourceNotFoundException("data streams " + names + " not found");
                        }
                        return MetadataDataStreamsService.deleteDataStreams(current, new LinkedHashSet<>(streams), settings);
                    }

                    @Override
                    public void onFailure(Exception e) {
                        send(channel, e);
                    }

                    @Override
                    public void clusterStateProcessed(ClusterState before, ClusterState after) {
                        try {
                            XContentBuilder b = channel.newBuilder();
                            b.startObject().field("acknowledged", true).endObject();
                            channel.sendResponse(new RestResponse(RestStatus.OK, b));
                        } catch (IOException e) {
                            send(channel, e);
                        }
                    }
                });
        }
    }
}
