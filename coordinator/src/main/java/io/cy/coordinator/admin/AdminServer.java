package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.cy.coordinator.transport.netty.Endpoint;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener: {@code GET /metrics}, {@code /healthz} and {@code /readyz}, and, when given
 * a {@link ConsoleApi}, the console ({@code GET /} and its assets) and its JSON API under
 * {@code /admin/api/}.
 *
 * <p>The JDK's HTTP server on a small executor of its own rather than a Netty handler: rendering
 * a scrape walks every series and the JVM's MX beans, which may take milliseconds and must not
 * hold up an event loop that relays tokens. Two threads and a queue of 16 bound what scrapers
 * can make it do; past that, the accepting thread serves the request itself, which slows
 * accepting instead of growing a queue.
 *
 * <p>{@code /metrics}, {@code /healthz} and {@code /readyz} have no authentication (scrapers and
 * probes call them): bind the listener to localhost (the default) or a private network. The API
 * authenticates every request itself; the page and its assets hold no data.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(AdminServer.class);
    private static final int THREADS = 2;
    private static final int QUEUE = 16;

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final PrometheusRegistry registry;
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final Supplier<String> notReadyReason;
    // Null without the console.
    private final ConsoleApi api;
    private final ConsoleAssets assets = new ConsoleAssets(AdminServer.class.getClassLoader());
    private volatile boolean stopping;

    private AdminServer(HttpServer server, ThreadPoolExecutor executor, PrometheusRegistry registry,
                        Supplier<String> notReadyReason, ConsoleApi api) {
        this.server = server;
        this.executor = executor;
        this.registry = registry;
        this.notReadyReason = notReadyReason;
        this.api = api;
    }

    /**
     * Starts listening on {@code addr}.
     *
     * @param notReadyReason why the coordinator cannot take calls now, or null when it can
     */
    public static AdminServer start(Endpoint addr, PrometheusRegistry registry, Supplier<String> notReadyReason)
            throws IOException {
        return start(addr, registry, notReadyReason, null);
    }

    /**
     * Starts listening on {@code addr}, serving the console and {@code api} too; the server closes
     * {@code api} when it closes.
     *
     * @param api null for no console
     */
    public static AdminServer start(Endpoint addr, PrometheusRegistry registry, Supplier<String> notReadyReason,
                                    ConsoleApi api) throws IOException {
        requireNonNull(addr, "addr");
        requireNonNull(registry, "registry");
        requireNonNull(notReadyReason, "notReadyReason");
        final HttpServer http = HttpServer.create(new InetSocketAddress(addr.host(), addr.port()), 16);
        final ThreadPoolExecutor executor = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE), runnable -> {
                    final Thread thread = new Thread(runnable, "cy-admin");
                    thread.setDaemon(true);
                    return thread;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        executor.allowCoreThreadTimeOut(true);
        final AdminServer admin = new AdminServer(http, executor, registry, notReadyReason, api);
        http.createContext("/", admin::handle);
        http.setExecutor(executor);
        http.start();
        return admin;
    }

    /** The port it listens on (the real one when 0 was asked for). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** From now on {@code /readyz} answers 503: the coordinator is going away. */
    public void beginShutdown() {
        stopping = true;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            final String method = exchange.getRequestMethod();
            final String path = exchange.getRequestURI().getPath();
            if (api != null && path.startsWith(ConsoleApi.PREFIX)) {
                api.handle(exchange);
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", bytes(method + ": method not allowed (expected: GET)\n"));
                return;
            }
            switch (path) {
                case "/metrics" -> metrics(exchange);
                case "/healthz" -> send(exchange, 200, "text/plain; charset=utf-8", bytes("ok\n"));
                case "/readyz" -> ready(exchange);
                default -> {
                    if (api != null && ConsoleAssets.serves(path)) {
                        assets.handle(exchange, path);
                    } else {
                        send(exchange, 404, "text/plain; charset=utf-8", bytes(api == null
                                ? "not found (expected: /metrics, /healthz or /readyz)\n"
                                : "not found (expected: /, /admin/api/..., /metrics, /healthz or /readyz)\n"));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            logger.debug("admin request failed", e);
            throw e;
        }
    }

    private void metrics(HttpExchange exchange) throws IOException {
        ExpositionFormatWriter writer = formats.findWriter(exchange.getRequestHeaders().getFirst("Accept"));
        if (!writer.isAvailable()) {
            // The protobuf format is not on the classpath: text is what every scraper also accepts.
            writer = formats.getPrometheusTextFormatWriter();
        }
        final ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
        writer.write(body, registry.scrape());
        send(exchange, 200, writer.getContentType(), body.toByteArray());
    }

    private void ready(HttpExchange exchange) throws IOException {
        final String reason = stopping ? "shutting down" : notReadyReason.get();
        if (reason == null) {
            send(exchange, 200, "text/plain; charset=utf-8", bytes("ready\n"));
        } else {
            send(exchange, 503, "text/plain; charset=utf-8", bytes("not ready: " + reason + "\n"));
        }
    }

    private static void send(HttpExchange exchange, int code, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        final boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        stopping = true;
        server.stop(0);
        executor.shutdownNow();
        if (api != null) {
            api.close();
        }
    }
}
