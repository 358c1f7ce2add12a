package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.UsageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadArgsTest {

    @Test
    void defaults() throws UsageException {
        final LoadArgs args = LoadArgs.parse(List.of());

        assertThat(args.target().toString()).isEqualTo("localhost:50050");
        assertThat(args.concurrency()).isEqualTo(64);
        assertThat(args.rate()).isZero();
        assertThat(args.maxNewTokens()).isEqualTo(16);
        assertThat(args.channels()).isEqualTo(1);
        assertThat(args.plan().request().getPrompt()).hasSize(64);
        assertThat(args.plan().request().getMetadata().getExtraMap()).isEmpty();
    }

    @Test
    void tlsTrustsTheGivenCaAndIsForGrpcOnly(@TempDir Path dir) throws Exception {
        final Path ca = Files.writeString(dir.resolve("ca.pem"), "pem");
        assertThat(LoadArgs.parse(List.of()).tlsCa()).isNull();
        assertThat(LoadArgs.parse(List.of("--tls-ca", ca.toString())).tlsCa()).isEqualTo(ca);
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--tls-ca", dir.resolve("none.pem").toString())))
                .hasMessage("--tls-ca: " + dir.resolve("none.pem") + ": not a readable file");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--tls-ca", ca.toString(), "--http", "http://127.0.0.1:8080")))
                .hasMessageStartingWith("--tls-ca: not with --http");
    }

    @Test
    void aPlainAbsolutePathIsAUnixSocketTarget() throws UsageException {
        assertThat(LoadArgs.parse(List.of("--target", "/tmp/cy_coordinator.sock")).target().toString())
                .isEqualTo("unix:///tmp/cy_coordinator.sock");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--target", "run/cy.sock")))
                .hasMessageStartingWith("--target: run/cy.sock (expected: an absolute socket path");
    }

    @Test
    void openLoopWithPacing() throws UsageException {
        final LoadArgs args = LoadArgs.parse(List.of("--target", "unix:///tmp/x.sock", "--rate", "500",
                "--sim-ttft-ms", "50", "--sim-gap-ms=20", "--extra", "k=v", "--token", "T", "--max-new-tokens", "64"));
        final LoadPlan plan = args.plan();

        assertThat(plan.openLoop()).isTrue();
        assertThat(plan.concurrency()).isEqualTo(1000);
        assertThat(plan.token()).isEqualTo("T");
        assertThat(plan.expectedChunks()).isEqualTo(64);
        assertThat(plan.request().getGeneration().getMaxNewTokens()).isEqualTo(64);
        assertThat(plan.request().getMetadata().getExtraMap())
                .containsOnly(java.util.Map.entry("sim.ttft_ms", "50"), java.util.Map.entry("sim.gap_ms", "20"),
                        java.util.Map.entry("k", "v"));
        assertThat(plan.describe()).isEqualTo("open loop, 500 calls/s (at most 1000 outstanding)");
    }

    @Test
    void channelsFollowConcurrency() throws UsageException {
        assertThat(LoadArgs.parse(List.of("--concurrency", "10000")).channels()).isEqualTo(10);
        assertThat(LoadArgs.parse(List.of("--concurrency", "10000", "--channels", "3")).channels()).isEqualTo(3);
    }

    @Test
    void httpTargetInsteadOfGrpc() throws UsageException {
        final LoadArgs args = LoadArgs.parse(List.of("--http", "http://127.0.0.1:8080/", "--concurrency", "1",
                "--token", "T"));

        assertThat(args.http()).isEqualTo(HttpTarget.parse("http://127.0.0.1:8080"));
        assertThat(args.http().endpoint().toString()).isEqualTo("127.0.0.1:8080");
        assertThat(args.http().hostHeader()).isEqualTo("127.0.0.1:8080");
        assertThat(args.http().path("/v1/chat/completions")).isEqualTo("/v1/chat/completions");
        assertThat(args.plan().token()).isEqualTo("T");
        assertThat(LoadArgs.parse(List.of()).http()).isNull();
        assertThat(HttpTarget.parse("http://[::1]/api/").path("/readyz")).isEqualTo("/api/readyz");
        assertThat(HttpTarget.parse("http://[::1]/api/").endpoint().port()).isEqualTo(80);
        assertThat(HttpTarget.parse("http://[::1]/api/").toString()).isEqualTo("http://[::1]/api");
    }

    @Test
    void httpRefusesWhatItCannotDo() {
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--http", "https://api.example.com")))
                .isInstanceOf(UsageException.class)
                .hasMessage("--http: https://api.example.com (expected: http://host:port; https is not supported)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--http", "localhost:8080")))
                .hasMessageStartingWith("--http: localhost:8080 (expected: http://host:port");
        assertThatThrownBy(() -> HttpTarget.parse("http://h:1/v1?stream=true"))
                .hasMessage("http://h:1/v1?stream=true (expected: http://host:port[/path], nothing more)");
        assertThatThrownBy(() -> HttpTarget.parse("http://user:secret@h:1"))
                .hasMessage("a URL with user info (expected: http://host:port[/path]; the bearer token goes in --token)");
        assertThatThrownBy(() -> HttpTarget.parse("http:///v1")).hasMessage("http:///v1 (expected: http://host:port)");
        assertThatThrownBy(() -> HttpTarget.parse("http://h:99999"))
                .hasMessage("http://h:99999 (expected: http://host:port, port 1-65535)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--http", "http://h:1", "--target", "h:2")))
                .hasMessage("--http: not with --target (one target per run)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--http", "http://h:1", "--channels", "2")))
                .hasMessage("--channels: not with --http (HTTP/1.1 has one connection per call in progress)");
    }

    @Test
    void badValuesNameTheFlag() {
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--concurrency", "0")))
                .isInstanceOf(UsageException.class).hasMessage("--concurrency: 0 (expected: >= 1)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--rate", "fast")))
                .hasMessage("--rate: fast (expected: a number >= 0)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--extra", "novalue")))
                .hasMessage("--extra: novalue (expected: key=value)");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--target", "nowhere")))
                .hasMessageStartingWith("--target: nowhere");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--bogus")))
                .hasMessage("unknown flag: --bogus");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--calls")))
                .hasMessage("--calls: missing value");
        assertThatThrownBy(() -> LoadArgs.parse(List.of("--json=yes")))
                .hasMessage("--json: takes no value");
    }
}
