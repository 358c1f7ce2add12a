package io.cy.bridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.sim.SimStats;
import io.cy.sim.SimulatedSidecar;
import io.grpc.Metadata;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Streaming against the simulated sidecar called directly as the AiInference upstream: tokens
 * arrive as produced, a client that leaves cancels the sidecar's call, a client that does not
 * read holds the sidecar back, and a stop sequence ends the sidecar's call.
 */
class SimStreamingTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    private final ObjectMapper json = new ObjectMapper();
    private SimUpstream upstream;
    private SimulatedSidecar sim;
    private BridgeFixture fixture;

    @BeforeEach
    void start() throws Exception {
        // A small fixed HTTP/2 window, so holding back shows at the sidecar after little data.
        upstream = SimUpstream.start(channel -> channel.flowControlWindow(64 << 10));
        sim = upstream.sim;
        fixture = new BridgeFixture(upstream.channel);
    }

    @AfterEach
    void stop() {
        fixture.close();
        upstream.close();
    }

    @Test
    void completionThroughTheSidecar() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":6}",
                "Authorization", "Bearer t0k3n", "x-request-id", "sim-1");

        assertThat(r.statusCode()).isEqualTo(200);
        final JsonNode body = json.readTree(r.body());
        assertThat(body.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(6);
        assertThat(body.get("choices").get(0).get("message").get("content").asText()).isNotBlank();
        assertThat(sim.stats().lastRequest().getPrompt()).isEqualTo("User: Hello\nAssistant:");
        assertThat(sim.stats().lastRequest().getMetadata().getTraceId()).isEqualTo("sim-1");
        final Metadata headers = sim.stats().lastHeaders("StreamPredict");
        assertThat(headers.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("Bearer t0k3n");
        assertThat(headers.get(Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("sim-1");
        assertThat(headers.get(Metadata.Key.of("cy-api", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("http");
    }

    @Test
    void tokensArriveIncrementally() throws Exception {
        final HttpRequest request = HttpRequest.newBuilder(fixture.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim\",\"stream\":true,\"max_tokens\":8,"
                        + "\"metadata\":{\"sim.gap_ms\":\"150\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                .build();
        final HttpResponse<Stream<String>> r = fixture.client.send(request, HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);

        long firstContent = 0;
        long done = 0;
        int contents = 0;
        final Iterator<String> lines = r.body().iterator();
        while (lines.hasNext()) {
            final String line = lines.next();
            if (line.equals("data: [DONE]")) {
                done = System.nanoTime();
            } else if (line.contains("\"delta\":{\"content\":")) {
                contents++;
                if (firstContent == 0) {
                    firstContent = System.nanoTime();
                }
            }
        }
        assertThat(contents).isEqualTo(8);
        assertThat(done).isPositive();
        // Seven gaps of 150 ms separate the first token from the last: the first one was not held back.
        assertThat(Duration.ofNanos(done - firstContent)).isGreaterThan(Duration.ofMillis(700));
    }

    @Test
    void clientDisconnectCancelsTheSidecarCall() throws Exception {
        try (RawHttp http = fixture.raw()) {
            http.send(RawHttp.post("/v1/chat/completions", "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":1000,"
                    + "\"metadata\":{\"sim.gap_ms\":\"20\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
            final RawHttp.Head head = http.readHead();
            assertThat(head.status()).isEqualTo(200);
            final BufferedReader events = new BufferedReader(new InputStreamReader(http.body(head), UTF_8));
            String line;
            do {
                line = events.readLine();
            } while (line != null && !line.contains("\"delta\":{\"content\":\" "));
            assertThat(line).isNotNull();
        } // hangs up mid-stream

        final SimStats stats = sim.stats();
        assertThat(stats.awaitCancelled(1, WAIT)).as("sidecar saw the cancel: %s", stats).isTrue();
        assertThat(stats.callsSucceeded()).isZero();
        assertThat(stats.chunksSent()).isLessThan(1000);
    }

    @Test
    void slowReaderHoldsTheSidecarBackInsteadOfBuffering() throws Exception {
        final int chunks = 2000;
        final int chunkBytes = 16 << 10;
        try (RawHttp http = new RawHttp(fixture.port(), 4096)) {
            http.send(RawHttp.post("/v1/chat/completions", "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":" + chunks
                    + ",\"metadata\":{\"sim.chunk_bytes\":\"" + chunkBytes + "\"},"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

            // Reading nothing: the socket buffers, Netty's high-water mark, then gRPC's window fill up.
            final SimStats stats = sim.stats();
            assertThat(stats.awaitPushback(WAIT)).as("sidecar held back: %s", stats).isTrue();
            assertThat(stats.await(s -> s.chunksSent() >= chunks, Duration.ofSeconds(1)))
                    .as("sidecar kept producing while nobody read: %s", stats).isFalse();
            // Kernel socket buffers (a few MiB on loopback) are most of what is in flight; the
            // bridge itself holds at most 64 KiB plus one chunk.
            assertThat(stats.chunksSent() * (long) chunkBytes).isLessThan(16L << 20);

            // Reading resumes the stream; every token arrives.
            final RawHttp.Head head = http.readHead();
            final RawHttp.Completion completion = http.readCompletion(head);
            assertThat(completion.contents()).isEqualTo(chunks);
            assertThat(completion.last()).isEqualTo("data: [DONE]");
            assertThat(stats.callsSucceeded()).isEqualTo(1);
        }
    }

    @Test
    void stopSequenceCancelsTheSidecarCall() throws Exception {
        final List<String> words = streamedContents("{\"model\":\"sim\",\"stream\":true,\"max_tokens\":12,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me\"}]}");
        assertThat(words).hasSize(12);
        final String full = String.join("", words);
        final String stop = words.get(5) + words.get(6);
        final String expected = full.substring(0, full.indexOf(stop));
        sim.stats().reset();

        final HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\":\"sim\",\"max_tokens\":500,"
                + "\"metadata\":{\"sim.gap_ms\":\"20\"},\"stop\":" + json.writeValueAsString(stop) + ","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me\"}]}");

        final JsonNode choice = json.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("message").get("content").asText()).isEqualTo(expected);
        assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
        assertThat(sim.stats().awaitCancelled(1, WAIT)).as("sidecar saw the cancel: %s", sim.stats()).isTrue();
        assertThat(sim.stats().chunksSent()).isLessThan(500);
    }

    @Test
    void upstreamDeadlineIs504() throws Exception {
        try (BridgeFixture withDeadline = new BridgeFixture(upstream.channel, c -> c.withUpstreamDeadline(Duration.ofMillis(300)))) {
            final HttpResponse<String> r = withDeadline.post("/v1/chat/completions", "{\"model\":\"sim\","
                    + "\"metadata\":{\"sim.stall_after\":\"0\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
            assertThat(r.statusCode()).isEqualTo(504);
            assertThat(json.readTree(r.body()).get("error").get("code").asText()).isEqualTo("timeout");
        }
    }

    @Test
    void sidecarRejectionIsMapped() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\":\"sim\","
                + "\"metadata\":{\"sim.fail\":\"RESOURCE_EXHAUSTED\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(json.readTree(r.body()).get("error").get("message").asText())
                .isEqualTo("simulated RESOURCE_EXHAUSTED after 0 chunks");
    }

    private List<String> streamedContents(String body) throws Exception {
        final HttpResponse<Stream<String>> r = fixture.client.send(HttpRequest.newBuilder(fixture.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        final List<String> contents = new ArrayList<>();
        r.body().forEach(line -> {
            if (line.startsWith("data: {")) {
                try {
                    final JsonNode delta = json.readTree(line.substring("data: ".length()))
                            .get("choices").get(0).get("delta");
                    if (delta.has("content") && !delta.get("content").asText().isEmpty()) {
                        contents.add(delta.get("content").asText());
                    }
                } catch (Exception e) {
                    throw new AssertionError(line, e);
                }
            }
        });
        return contents;
    }
}
