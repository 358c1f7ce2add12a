package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cancellation and deadlines of calls that come through the HTTP bridge, which calls the services
 * from inside the process: an HTTP client that hangs up mid-stream cancels the sidecar's call,
 * and {@code http.upstream_deadline} ends a stalled one at the sidecar too, with the client told.
 */
class BridgeCancellationTest {

    private static final String STALLS_AFTER_TWO = "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":100,"
            + "\"metadata\":{\"sim.stall_after\":\"2\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

    @TempDir
    Path dir;

    @Test
    void anHttpClientHangingUpMidStreamCancelsTheSidecarsCall() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            try (Socket socket = post(stack, STALLS_AFTER_TWO)) {
                final BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), UTF_8));
                assertThat(readUntil(in, "\"delta\":{\"content\":\"")).isNotNull();
            } // hangs up

            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
            final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(summary.api()).isEqualTo("http");
            assertThat(summary.cancelledByClient()).isTrue();
            assertThat(summary.status().getCode()).isEqualTo(Status.Code.CANCELLED);
            Eventually.await("no call left open", TIMEOUT, () -> stack.coordinator.activeCalls() == 0
                    && stack.coordinator.sidecars().all().get(0).inflight() == 0);
        }
    }

    @Test
    void theUpstreamDeadlineEndsAStalledStreamAtTheSidecarAndTellsTheClient() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "http:\n  upstream_deadline: 500ms\n", Map.of())) {
            final List<String> lines = new ArrayList<>();
            try (Socket socket = post(stack, STALLS_AFTER_TWO)) {
                final BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), UTF_8));
                for (String line = in.readLine(); line != null && !line.equals("0"); line = in.readLine()) {
                    lines.add(line);
                }
            }

            assertThat(lines).filteredOn(l -> l.contains("\"delta\":{\"content\":\"")).hasSize(2);
            assertThat(lines).contains("event: error");
            assertThat(String.join("\n", lines)).contains("\"code\":\"timeout\"").doesNotContain("[DONE]");
            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
            final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(summary.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        }
    }

    /** A streamed chat completion on a socket of its own, the answer left to read. */
    private static Socket post(TestStack stack, String json) throws IOException {
        final Socket socket = new Socket();
        socket.setSoTimeout((int) TIMEOUT.toMillis());
        socket.connect(new InetSocketAddress("127.0.0.1", stack.coordinator.httpEndpoint().port()));
        final byte[] body = json.getBytes(UTF_8);
        socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(UTF_8));
        socket.getOutputStream().write(body);
        socket.getOutputStream().flush();
        return socket;
    }

    private static String readUntil(BufferedReader in, String part) throws IOException {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.contains(part)) {
                return line;
            }
        }
        return null;
    }
}
