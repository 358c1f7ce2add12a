package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.cy.audit.DbUrl;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.service.ControlHandler;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.ControlMessage;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API under {@code /admin/api/} that the console uses and that works with curl. Every
 * request is authenticated as a gRPC call is ({@link AdminAuth}); reads come from the panels,
 * changes go through Control ({@link ControlCommands}), so each is audited as a Control command.
 * A change must be a POST with {@code Content-Type: application/json}: a page elsewhere cannot
 * send that without a CORS preflight, which this API never grants.
 */
public final class ConsoleApi implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(ConsoleApi.class);
    public static final String PREFIX = "/admin/api/";
    /** Largest request body taken: far more than any command's payload. */
    static final int MAX_BODY_BYTES = 16 * 1024;

    private final ObjectMapper json = new ObjectMapper();
    private final AdminAuth auth;
    private final ControlCommands control;
    private final Map<String, Panel> panels;
    private final MetricsSampler sampler;

    private ConsoleApi(AdminAuth auth, ControlCommands control, Map<String, Panel> panels, MetricsSampler sampler) {
        this.auth = auth;
        this.control = control;
        this.panels = panels;
        this.sampler = sampler;
    }

    /**
     * What the panels read and where changes go; see {@link ConsoleApi#create}.
     *
     * @param authenticator null with {@code auth.mode: none}
     * @param auditDatabase where recent calls are read; null: from memory
     */
    public record Sources(Authenticator authenticator, String adminRole, Duration authTimeout,
                          ControlHandler control, Duration controlTimeout, String version, SidecarPool sidecars,
                          Routing routing, Quotas quotas, IntSupplier activeCalls, DbUrl auditDatabase) {}

    /**
     * The API, and the sampler of {@code registry} that feeds the overview's charts (stopped by
     * {@link #close}).
     *
     * @param feeds what the calls feed the console: the ring of recent calls (used when
     *     {@code sources.auditDatabase()} is null) and the calls per sidecar
     */
    public static ConsoleApi create(Sources sources, ConsoleFeeds feeds, PrometheusRegistry registry, Clock clock) {
        requireNonNull(sources, "sources");
        requireNonNull(feeds, "feeds");
        final MetricsHistory history = new MetricsHistory();
        final Map<String, Panel> panels = new LinkedHashMap<>();
        panels.put("overview", new OverviewPanel(sources.version(), clock, history, sources.sidecars(),
                sources.routing(), sources.activeCalls()));
        panels.put("sidecars", new SidecarsPanel(sources.sidecars(), feeds.sidecarCalls()));
        panels.put("routes", new RoutesPanel(sources.routing()));
        panels.put("tenants", new TenantsPanel(sources.quotas()));
        panels.put("calls", new CallsPanel(sources.auditDatabase() == null ? feeds.recentCalls()
                : new AuditCalls(sources.auditDatabase())));
        return new ConsoleApi(new AdminAuth(sources.authenticator(), sources.adminRole(), sources.authTimeout()),
                new ControlCommands(sources.control(), sources.controlTimeout()), Map.copyOf(panels),
                MetricsSampler.start(registry, history, feeds.sidecarCalls(), clock));
    }

    @Override
    public void close() {
        sampler.close();
    }

    /** Answers one request whose path starts with {@link #PREFIX}; never throws but for the exchange's I/O. */
    void handle(HttpExchange exchange) throws IOException {
        final String path = exchange.getRequestURI().getPath().substring(PREFIX.length());
        final String method = exchange.getRequestMethod();
        ObjectNode body;
        int status = 200;
        try {
            final Identity caller = auth.check(exchange.getRequestHeaders().getFirst("Authorization"));
            body = switch (path) {
                case "session" -> session(method, caller);
                case "sidecars/drain" -> command(exchange, caller, "drain_sidecar", "addr");
                case "sidecars/undrain" -> command(exchange, caller, "undrain_sidecar", "addr");
                case "routes/rollback" -> command(exchange, caller, "routes_rollback", "version");
                default -> read(exchange, path);
            };
        } catch (ApiException e) {
            status = e.httpStatus();
            body = error(e.code(), e.getMessage());
            if (status == 401) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            }
        } catch (RuntimeException e) {
            logger.error("admin API {} {} failed", method, path, e);
            status = 500;
            body = error("internal", "the coordinator failed to answer: " + e.getClass().getSimpleName());
        }
        final byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        final boolean head = method.equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            exchange.getResponseBody().write(bytes);
        }
    }

    private ObjectNode session(String method, Identity caller) {
        expect(method, "GET");
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("auth", auth.required() ? "required" : "none");
        if (caller != null) {
            out.put("subject", caller.subject());
            out.put("tenant", caller.tenant());
            out.putArray("roles").addAll(caller.roles().stream().sorted()
                    .map(JsonNodeFactory.instance::textNode).toList());
        }
        return out;
    }

    private ObjectNode read(HttpExchange exchange, String path) {
        final Panel panel = panels.get(path);
        if (panel == null) {
            throw new ApiException(404, "not_found", PREFIX + path + ": no such endpoint (expected: "
                    + PREFIX + "session, overview, sidecars, routes, tenants, calls, sidecars/drain, sidecars/undrain"
                    + " or routes/rollback)");
        }
        expect(exchange.getRequestMethod(), "GET");
        return panel.read(query(exchange.getRequestURI().getRawQuery()));
    }

    /** A POST whose JSON body may carry {@code key}; runs {@code command} with it as the payload. */
    private ObjectNode command(HttpExchange exchange, Identity caller, String command, String key) throws ApiException {
        expect(exchange.getRequestMethod(), "POST");
        final String type = exchange.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new ApiException(415, "unsupported_media_type", "Content-Type: " + (type == null ? "missing" : type)
                    + " (expected: application/json)");
        }
        final JsonNode request = body(exchange);
        final Map<String, String> payload = new TreeMap<>();
        final JsonNode value = request.get(key);
        if (value != null && !value.isNull()) {
            if (!value.isValueNode()) {
                throw new ApiException(400, "invalid_argument", key + ": " + value.getNodeType().name().toLowerCase(
                        java.util.Locale.ROOT) + " (expected: a string)");
            }
            payload.put(key, value.asText());
        }
        final ControlMessage answer = control.run(caller, command, payload,
                String.valueOf(exchange.getRemoteAddress()).replaceFirst("^/", ""));
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("command", command);
        out.put("trace_id", answer.getTraceId());
        final ObjectNode answered = out.putObject("payload");
        new TreeMap<>(answer.getPayloadMap()).forEach(answered::put);
        out.put("status", answer.getPayloadOrDefault("status", ""));
        out.put("message", answer.getPayloadOrDefault("message", ""));
        return out;
    }

    private JsonNode body(HttpExchange exchange) {
        final byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        } catch (IOException e) {
            throw new ApiException(400, "invalid_argument", "body: could not be read (" + e.getMessage() + ")");
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiException(413, "too_large", "body: more than " + MAX_BODY_BYTES + " bytes (expected: <= "
                    + MAX_BODY_BYTES + ")");
        }
        if (bytes.length == 0) {
            return JsonNodeFactory.instance.objectNode();
        }
        try {
            final JsonNode node = json.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new ApiException(400, "invalid_argument", "body: not a JSON object (expected: {\"key\": \"value\"})");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid_argument", "body: not JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new ApiException(400, "invalid_argument", "body: not JSON (" + e.getMessage() + ")");
        }
    }

    private static void expect(String method, String expected) {
        if (!method.equals(expected) && !(expected.equals("GET") && method.equals("HEAD"))) {
            throw new ApiException(405, "method_not_allowed", method + ": method not allowed (expected: " + expected + ")");
        }
    }

    private static Map<String, String> query(String raw) {
        final Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&", 32)) {
            final int eq = pair.indexOf('=');
            final String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            final String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.putIfAbsent(name, value);
        }
        return out;
    }

    private static ObjectNode error(String code, String message) {
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("error", code);
        out.put("message", message);
        return out;
    }
}
