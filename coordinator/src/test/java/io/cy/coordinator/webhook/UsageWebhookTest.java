package io.cy.coordinator.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The usage webhook against a real local HTTP receiver: the body, the signature, retries, failures and shutdown. */
class UsageWebhookTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SECRET = "webhook-secret";
    /** The documented shape, for the summary {@link #served} builds. */
    private static final String EXPECTED = "{\"request_id\":\"trace-1\",\"user_id\":\"svc-billing\","
            + "\"api_key\":\"billing-key\",\"model\":\"qwen2.5-7b\",\"prompt_tokens\":15,\"completion_tokens\":42,"
            + "\"total_tokens\":57,\"is_stream\":true,\"endpoint\":\"/cy.llm.AiInference/StreamPredict\","
            + "\"timestamp\":\"2026-01-14T10:30:00Z\",\"backend_url\":\"unix:///run/cy/a.sock\",\"tenant\":\"acme\","
            + "\"status\":\"OK\"}";

    private HttpServer receiver;
    private UsageWebhook webhook;
    private final BlockingQueue<Received> received = new ArrayBlockingQueue<>(100);
    private final Counters counters = new Counters();

    record Received(byte[] body, String signature, String contentType) {}

    @AfterEach
    void stop() {
        if (webhook != null) {
            webhook.close();
        }
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    void aServedCallIsPostedInTheDocumentedShapeAndSigned() throws Exception {
        startReceiver(List.of(200));
        webhook = UsageWebhook.start(settings(3, 100, 1), counters);

        webhook.onCallEnd(served("trace-1"));

        final Received request = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(request).isNotNull();
        assertThat(new String(request.body(), StandardCharsets.UTF_8)).isEqualTo(EXPECTED);
        assertThat(request.signature()).isEqualTo("sha256=" + hmacHex(request.body()));
        assertThat(request.contentType()).isEqualTo("application/json");
        counters.awaitDelivered(1);
        assertThat(counters.failures).isEmpty();
    }

    @Test
    void aCallNoSidecarServedIsNotSent() throws Exception {
        startReceiver(List.of(200));
        webhook = UsageWebhook.start(settings(3, 100, 1), counters);

        webhook.onCallEnd(refused("trace-refused"));
        webhook.onCallEnd(served("trace-after"));

        final Received first = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(new String(first.body(), StandardCharsets.UTF_8)).contains("\"request_id\":\"trace-after\"");
    }

    @Test
    void batchesAreJsonArrays() throws Exception {
        startReceiver(List.of(200));
        webhook = UsageWebhook.start(new CoordinatorConfig.UsageWebhook(url(), Duration.ofSeconds(2), 0, 100, 3,
                Duration.ofSeconds(30), ""), counters);

        webhook.onCallEnd(served("trace-1"));
        webhook.onCallEnd(served("trace-2"));
        webhook.onCallEnd(served("trace-3"));

        final Received request = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(new String(request.body(), StandardCharsets.UTF_8)).isEqualTo("[" + EXPECTED + ","
                + EXPECTED.replace("trace-1", "trace-2") + "," + EXPECTED.replace("trace-1", "trace-3") + "]");
        assertThat(request.signature()).isNull();
    }

    @Test
    void a500IsRetriedAndThen200Delivers() throws Exception {
        startReceiver(List.of(500, 200));
        webhook = UsageWebhook.start(settings(3, 100, 1), counters);

        webhook.onCallEnd(served("trace-1"));

        final Received first = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        final Received second = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(second).isNotNull();
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(second.signature()).isEqualTo(first.signature());
        counters.awaitDelivered(1);
        assertThat(counters.failures).containsExactly(Map.entry("http_5xx", 1L));
    }

    @Test
    void a4xxIsNotRetried() throws Exception {
        startReceiver(List.of(400, 200));
        webhook = UsageWebhook.start(settings(3, 100, 1), counters);

        webhook.onCallEnd(served("trace-1"));
        counters.awaitFailures("http_4xx", 1);
        webhook.onCallEnd(served("trace-2"));

        // The next record is the next request: the refused one was not sent again.
        final Received first = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        final Received second = received.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(new String(first.body(), StandardCharsets.UTF_8)).contains("trace-1");
        assertThat(new String(second.body(), StandardCharsets.UTF_8)).contains("trace-2");
        counters.awaitDelivered(1);
        assertThat(counters.failures).containsOnlyKeys("http_4xx");
    }

    @Test
    void aReceiverThatIsDownCostsEveryAttemptThenTheRecord() throws Exception {
        final int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        webhook = UsageWebhook.start(new CoordinatorConfig.UsageWebhook(
                URI.create("http://127.0.0.1:" + closedPort + "/usage"), Duration.ofSeconds(2), 2, 100, 1,
                Duration.ofMillis(10), SECRET), counters);

        webhook.onCallEnd(served("trace-1"));

        counters.awaitFailures("dropped", 1);
        assertThat(counters.failures).containsEntry("connect", 3L).containsEntry("dropped", 1L);
        assertThat(counters.delivered.get()).isZero();
    }

    @Test
    void aSlowReceiverTimesOutAndCallsNeverWaitForIt() throws Exception {
        final CountDownLatch release = new CountDownLatch(1);
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        receiver.setExecutor(Executors.newFixedThreadPool(4));
        receiver.createContext("/usage", exchange -> {
            try {
                release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answer(exchange, 200);
        });
        receiver.start();
        webhook = UsageWebhook.start(new CoordinatorConfig.UsageWebhook(url(), Duration.ofMillis(200), 0, 2, 1,
                Duration.ofMillis(10), ""), counters);

        webhook.onCallEnd(served("trace-1"));
        counters.awaitFailures("timeout", 1);
        // The sender is stuck on the next slow request; the queue (2) fills, and further records are
        // dropped on the calling thread instead of waiting.
        for (int i = 0; i < 10; i++) {
            webhook.onCallEnd(served("trace-more-" + i));
        }
        assertThat(counters.failures.get("dropped")).isGreaterThanOrEqualTo(7L);
        release.countDown();
    }

    @Test
    void shutdownSendsWhatIsQueuedWithinTheGrace() throws Exception {
        startReceiver(List.of(200));
        webhook = UsageWebhook.start(new CoordinatorConfig.UsageWebhook(url(), Duration.ofSeconds(2), 0, 100, 2,
                Duration.ofSeconds(30), ""), counters);
        for (int i = 0; i < 5; i++) {
            webhook.onCallEnd(served("trace-" + i));
        }

        webhook.close(Duration.ofSeconds(10));

        assertThat(counters.delivered.get()).isEqualTo(3);
        assertThat(counters.failures).doesNotContainKey("dropped");
        assertThat(webhook.queued()).isZero();
        webhook.onCallEnd(served("after-close"));
        assertThat(counters.failures).containsEntry("dropped", 1L);
    }

    private CoordinatorConfig.UsageWebhook settings(int maxRetries, int queueCapacity, int batchSize) {
        return new CoordinatorConfig.UsageWebhook(url(), Duration.ofSeconds(2), maxRetries, queueCapacity, batchSize,
                Duration.ofMillis(10), SECRET);
    }

    private URI url() {
        return URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/usage");
    }

    /** A receiver answering the given codes in turn, the last one from then on. */
    private void startReceiver(List<Integer> codes) throws IOException {
        final AtomicInteger next = new AtomicInteger();
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        receiver.createContext("/usage", exchange -> {
            final byte[] body = exchange.getRequestBody().readAllBytes();
            received.add(new Received(body, exchange.getRequestHeaders().getFirst("X-CY-Signature"),
                    exchange.getRequestHeaders().getFirst("Content-Type")));
            answer(exchange, codes.get(Math.min(next.getAndIncrement(), codes.size() - 1)));
        });
        receiver.start();
    }

    private static void answer(HttpExchange exchange, int code) throws IOException {
        exchange.sendResponseHeaders(code, -1);
        exchange.close();
    }

    private static String hmacHex(byte[] body) throws Exception {
        final Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(body));
    }

    /** A call served by a sidecar, ending at 2026-01-14T10:30:00.4Z. */
    static CallSummary served(String traceId) {
        return new CallSummary("StreamPredict", "grpc", traceId, "127.0.0.1:5000",
                Instant.parse("2026-01-14T10:29:59Z"),
                new Identity("svc-billing", "acme", Set.of("user"), Identity.CredentialKind.API_KEY, "billing-key"),
                "acme", "qwen2.5-7b", "", 0, "", 15, "unix:///run/cy/a.sock", Status.OK, 42, 1000, 1_000_000,
                1_400_000_000L, "admitted", false, "default", "default", "", true);
    }

    private static CallSummary refused(String traceId) {
        return new CallSummary("StreamPredict", "grpc", traceId, "127.0.0.1:5000", Instant.now(), null, "acme",
                "qwen2.5-7b", "", 0, "", 15, "", Status.RESOURCE_EXHAUSTED, 0, 0, -1, 1000, "rejected:concurrent",
                false, "default", "default", "", true);
    }

    /** Counts as the metrics would, and lets a test wait for a count. */
    private static final class Counters implements DeliveryCounters {
        final AtomicLong delivered = new AtomicLong();
        final Map<String, Long> failures = new ConcurrentHashMap<>();

        @Override
        public synchronized void delivered() {
            delivered.incrementAndGet();
            notifyAll();
        }

        @Override
        public synchronized void failed(String reason, long count) {
            failures.merge(reason, count, Long::sum);
            notifyAll();
        }

        synchronized void awaitDelivered(long count) throws InterruptedException {
            final long deadline = System.nanoTime() + WAIT.toNanos();
            while (delivered.get() < count) {
                final long left = deadline - System.nanoTime();
                assertThat(left).as("waiting for %d deliveries", count).isPositive();
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        synchronized void awaitFailures(String reason, long count) throws InterruptedException {
            final long deadline = System.nanoTime() + WAIT.toNanos();
            while (failures.getOrDefault(reason, 0L) < count) {
                final long left = deadline - System.nanoTime();
                assertThat(left).as("waiting for %d failures %s", count, reason).isPositive();
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }
}
