package io.cy.bridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BridgeMainTest {

    @Test
    void defaults() throws Exception {
        final BridgeMain.Settings s = BridgeMain.parse(new String[0], Map.of());
        assertThat(s.config().listen()).isEqualTo(Endpoint.parse("0.0.0.0:8080"));
        assertThat(s.coordinator()).isEqualTo(Endpoint.parse("localhost:50050"));
        assertThat(s.config().maxBodyBytes()).isEqualTo(4 << 20);
        assertThat(s.config().templateFor("any")).isEqualTo("plain");
        assertThat(s.config().models()).isEmpty();
        assertThat(s.config().upstreamDeadline()).isNull();
        assertThat(s.config().readyCheck()).isTrue();
    }

    @Test
    void environmentSetsTheListenAddressAndFlagsOverrideIt() throws Exception {
        final Map<String, String> env = Map.of("COORDINATOR_HTTP_ADDR", "127.0.0.1:9090");
        assertThat(BridgeMain.parse(new String[0], env).config().listen()).isEqualTo(Endpoint.parse("127.0.0.1:9090"));
        assertThat(BridgeMain.parse(new String[] {"--listen", "0.0.0.0:8081"}, env).config().listen())
                .isEqualTo(Endpoint.parse("0.0.0.0:8081"));
    }

    @Test
    void everyFlag() throws Exception {
        final BridgeMain.Settings s = BridgeMain.parse(new String[] {
            "--listen=127.0.0.1:0", "--coordinator", "unix:///tmp/cy_coordinator.sock",
            "--template", "qwen=chatml", "--template=llama=llama3", "--default-template", "chatml",
            "--models", "qwen,llama", "--max-body-bytes", "1000", "--deadline", "30s", "--idle-timeout", "500ms",
            "--no-ready-check"}, Map.of());
        assertThat(s.coordinator()).isEqualTo(Endpoint.parse("unix:///tmp/cy_coordinator.sock"));
        assertThat(s.config().templateFor("qwen")).isEqualTo("chatml");
        assertThat(s.config().templateFor("llama")).isEqualTo("llama3");
        assertThat(s.config().templateFor("other")).isEqualTo("chatml");
        assertThat(s.config().models()).containsExactly("qwen", "llama");
        assertThat(s.config().maxBodyBytes()).isEqualTo(1000);
        assertThat(s.config().upstreamDeadline()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.config().idleTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.config().readyCheck()).isFalse();
    }

    @Test
    void badFlagsAreNamed() {
        assertThat(usageError("--bogus")).isEqualTo("unknown flag: --bogus");
        assertThat(usageError("extra")).isEqualTo("unexpected argument: extra");
        assertThat(usageError("--listen")).isEqualTo("--listen: missing value");
        assertThat(usageError("--listen", "nowhere")).isEqualTo("--listen: nowhere (expected: host:port)");
        assertThat(usageError("--template", "qwen=alpaca"))
                .isEqualTo("--template: templates.qwen: alpaca (expected: plain, chatml or llama3)");
        assertThat(usageError("--template", "qwen")).isEqualTo("--template: qwen (expected: MODEL=NAME, e.g. qwen=chatml)");
        assertThat(usageError("--deadline", "soon"))
                .isEqualTo("--deadline: soon (expected: a duration like 500ms, 30s, 2m or 1h)");
        assertThat(usageError("--max-body-bytes", "0"))
                .isEqualTo("--max-body-bytes: maxBodyBytes: 0 (expected: in [1, 67108864])");
        assertThat(usageError("--models", "a,,b")).isEqualTo("--models: 'a,,b' (expected: comma-separated model ids, none empty)");
        assertThat(catchThrowableOfType(BridgeMain.UsageException.class,
                () -> BridgeMain.parse(new String[0], Map.of("COORDINATOR_HTTP_ADDR", "x")))).hasMessage(
                "COORDINATOR_HTTP_ADDR: x (expected: host:port)");
    }

    @Test
    void badFlagExitsWith2() throws Exception {
        final Process p = java("--bogus").redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(out).contains("cy-http-bridge: unknown flag: --bogus");
    }

    @Test
    void runsAgainstARemoteUpstreamAndStopsOnSigterm() throws Exception {
        try (SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder().listen("127.0.0.1:0").build())) {
            final Process p = java("--listen", "127.0.0.1:0", "--coordinator", sim.target()).redirectErrorStream(true).start();
            try {
                final BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
                final List<String> seen = new ArrayList<>();
                final Pattern listening = Pattern.compile("HTTP bridge listening on 127\\.0\\.0\\.1:(\\d+)");
                int port = -1;
                String line;
                while (port < 0 && (line = out.readLine()) != null) {
                    seen.add(line);
                    final Matcher m = listening.matcher(line);
                    if (m.find()) {
                        port = Integer.parseInt(m.group(1));
                    }
                }
                assertThat(port).as("bridge output: %s", seen).isPositive();

                final HttpResponse<String> r = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim\",\"max_tokens\":3,"
                                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                                .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("\"completion_tokens\":3");
                // Drain the rest of the output in the background so the process never blocks on it.
                final Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // discarded
                        }
                    } catch (IOException e) {
                        // the process ended
                    }
                });
                drain.setDaemon(true);
                drain.start();

                p.destroy(); // SIGTERM: the shutdown hook stops the bridge
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static String usageError(String... args) {
        return catchThrowableOfType(BridgeMain.UsageException.class, () -> BridgeMain.parse(args, Map.of())).getMessage();
    }

    /** A JVM running BridgeMain with this test's class path (logging configured by logback-test.xml). */
    private static ProcessBuilder java(String... args) {
        final List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                BridgeMain.class.getName()));
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("COORDINATOR_HTTP_ADDR");
        return pb;
    }
}
