package io.cy.sim;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.grpc.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimMainTest {

    @TempDir
    Path dir;

    @Test
    void defaults() throws Exception {
        final SimConfig config = SimMain.parse(new String[0], Map.of());

        assertThat(config.listen().toString()).isEqualTo("unix:///tmp/cy_sidecar.sock");
        assertThat(config.internalToken()).isNull();
        assertThat(config.refuseConnections()).isFalse();
    }

    @Test
    void everyFlag() throws Exception {
        final SimConfig config = SimMain.parse(new String[] {
            "--listen", "127.0.0.1:50051", "--ttft-ms", "120", "--gap-ms=15", "--models", "a, b",
            "--internal-token", "t0k", "--fail", "RESOURCE_EXHAUSTED", "--fail-after", "3",
            "--stall-after", "7", "--refuse", "--max-new-tokens-default", "32", "--chunk-bytes", "64",
            "--threads", "4",
        }, Map.of());

        assertThat(config.listen().toString()).isEqualTo("127.0.0.1:50051");
        assertThat(config.timeToFirstToken()).isEqualTo(Duration.ofMillis(120));
        assertThat(config.tokenGap()).isEqualTo(Duration.ofMillis(15));
        assertThat(config.models()).containsExactly("a", "b");
        assertThat(config.internalToken()).isEqualTo("t0k");
        assertThat(config.failStatus()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(config.failAfter()).isEqualTo(3);
        assertThat(config.stallAfter()).isEqualTo(7);
        assertThat(config.refuseConnections()).isTrue();
        assertThat(config.defaultMaxNewTokens()).isEqualTo(32);
        assertThat(config.chunkBytes()).isEqualTo(64);
        assertThat(config.threads()).isEqualTo(4);
    }

    @Test
    void tokenDefaultsToTheEnvironmentAndAFlagOverridesIt() throws Exception {
        final Map<String, String> env = Map.of("CY_LLM_INTERNAL_TOKEN", "from-env");

        assertThat(SimMain.parse(new String[0], env).internalToken()).isEqualTo("from-env");
        assertThat(SimMain.parse(new String[] {"--internal-token", "flag"}, env).internalToken()).isEqualTo("flag");
        assertThat(SimMain.parse(new String[] {"--internal-token="}, env).internalToken()).isNull();
        assertThat(SimMain.parse(new String[0], Map.of("CY_LLM_INTERNAL_TOKEN", "")).internalToken()).isNull();
    }

    @Test
    void badArgumentsNameTheFlag() {
        assertUsage("unknown flag: --bogus", "--bogus");
        assertUsage("unexpected argument: extra", "extra");
        assertUsage("--ttft-ms: missing value (expected: an integer >= 0)", "--ttft-ms");
        assertUsage("--ttft-ms: soon (expected: an integer >= 0)", "--ttft-ms", "soon");
        assertUsage("--gap-ms: -1 (expected: an integer >= 0)", "--gap-ms=-1");
        assertUsage("--threads: 0 (expected: an integer > 0)", "--threads", "0");
        assertUsage("--fail: NOPE (expected: a gRPC status code name other than OK, e.g. NOT_FOUND)", "--fail", "NOPE");
        assertUsage("--fail-after: 2 (expected: together with --fail)", "--fail-after", "2");
        assertUsage("--listen: tmp/sock (expected: an absolute socket path such as /tmp/cy_sidecar.sock, or host:port)",
                "--listen", "tmp/sock");
        assertUsage("--models: 'a,,b' (expected: comma-separated model ids, none empty)", "--models", "a,,b");
        assertUsage("--adapters: 'x,' (expected: comma-separated adapter names, none empty)", "--adapters", "x,");
        assertUsage("--refuse: takes no value", "--refuse=yes");
    }

    @Test
    void badArgumentsExitWithCode2() throws Exception {
        final Process process = java("--ttft-ms", "soon");

        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(2);
        assertThat(new String(process.getErrorStream().readAllBytes(), UTF_8))
                .contains("--ttft-ms: soon (expected: an integer >= 0)");
    }

    @Test
    void runsUntilTerminatedAndRemovesItsSocket() throws Exception {
        final Path socket = dir.resolve("cli.sock");
        final Process process = java("--listen", "unix://" + socket, "--internal-token", "never-logged");
        try {
            final List<String> output = new ArrayList<>();
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                final BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8));
                String line;
                while ((line = out.readLine()) != null) {
                    output.add(line);
                    if (line.contains("listening on")) {
                        break;
                    }
                }
            });
            assertThat(output).last().asString().contains("simulated sidecar listening on unix://" + socket);
            assertThat(String.join("\n", output)).doesNotContain("never-logged");
            assertThat(socket).exists();

            process.destroy(); // SIGTERM

            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(socket).doesNotExist();
        } finally {
            process.destroyForcibly();
        }
    }

    private static void assertUsage(String message, String... args) {
        assertThatThrownBy(() -> SimMain.parse(args, Map.of()))
                .isInstanceOf(SimMain.UsageException.class)
                .hasMessage(message);
    }

    /** Runs SimMain in a fresh JVM with this test's class path. */
    private static Process java(String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "-XX:TieredStopAtLevel=1", // a short-lived JVM: start fast
                SimMain.class.getName()));
        command.addAll(List.of(args));
        final ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().remove("CY_LLM_INTERNAL_TOKEN");
        return builder.start();
    }
}
