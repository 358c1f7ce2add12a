package io.cy.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CallArgsTest {

    @Test
    void defaultsStreamHelloToTheLocalCoordinator() throws UsageException {
        final CallArgs args = CallArgs.parse(List.of());

        assertThat(args.target()).isEqualTo(Endpoint.tcp("localhost", 50050));
        assertThat(args.method()).isEqualTo(CallArgs.Method.STREAM);
        assertThat(args.model()).isEqualTo("sim");
        assertThat(args.prompt()).isEqualTo("Hello");
        assertThat(args.maxNewTokens()).isEqualTo(16);
        assertThat(args.temperature()).isZero();
        assertThat(args.token()).isNull();
        assertThat(args.traceId()).isEmpty();
        assertThat(args.command()).isEqualTo("ping");
        assertThat(args.payload()).isEmpty();
        assertThat(args.deadlineMs()).isZero();
    }

    @Test
    void aPlainAbsolutePathIsAUnixSocketTarget() throws UsageException {
        assertThat(CallArgs.parse(List.of("--target", "/tmp/cy_coordinator.sock")).target())
                .isEqualTo(Endpoint.unix(Path.of("/tmp/cy_coordinator.sock")));
    }

    @Test
    void readsEveryFlag() throws UsageException {
        final CallArgs args = CallArgs.parse(List.of(
                "--target", "unix:///tmp/x.sock", "--method", "control", "--model", "m1", "--prompt", "Hi there",
                "--max-new-tokens", "3", "--temperature", "0.7", "--token", "secret", "--trace-id", "t-1",
                "--command", "unload_model", "--payload", "model_id=m1", "--deadline-ms", "2500"));

        assertThat(args.target()).isEqualTo(Endpoint.unix(Path.of("/tmp/x.sock")));
        assertThat(args.method()).isEqualTo(CallArgs.Method.CONTROL);
        assertThat(args.model()).isEqualTo("m1");
        assertThat(args.prompt()).isEqualTo("Hi there");
        assertThat(args.maxNewTokens()).isEqualTo(3);
        assertThat(args.temperature()).isEqualTo(0.7);
        assertThat(args.token()).isEqualTo("secret");
        assertThat(args.traceId()).isEqualTo("t-1");
        assertThat(args.command()).isEqualTo("unload_model");
        assertThat(args.payload()).isEqualTo(Map.of("model_id", "m1"));
        assertThat(args.deadlineMs()).isEqualTo(2500);
    }

    @Test
    void tlsWithAClientCertificateNeedsTheWholePairAndACa(@TempDir Path dir) throws Exception {
        final Path ca = Files.writeString(dir.resolve("ca.pem"), "pem");
        final Path cert = Files.writeString(dir.resolve("client.pem"), "pem");
        final Path key = Files.writeString(dir.resolve("client.key"), "pem");
        final CallArgs args = CallArgs.parse(List.of("--tls-ca", ca.toString(), "--tls-cert", cert.toString(),
                "--tls-key", key.toString()));
        assertThat(args.tlsCa()).isEqualTo(ca);
        assertThat(args.tlsCert()).isEqualTo(cert);
        assertThat(args.tlsKey()).isEqualTo(key);
        assertThatThrownBy(() -> CallArgs.parse(List.of("--tls-ca", ca.toString(), "--tls-cert", cert.toString())))
                .hasMessageStartingWith("--tls-cert: given without --tls-key");
        assertThatThrownBy(() -> CallArgs.parse(List.of("--tls-cert", cert.toString(), "--tls-key", key.toString())))
                .hasMessageStartingWith("--tls-cert: given without --tls-ca");
    }

    @Test
    void acceptsFlagEqualsValue() throws UsageException {
        final CallArgs args = CallArgs.parse(List.of("--method=health", "--target=127.0.0.1:7000", "--prompt=a=b"));

        assertThat(args.method()).isEqualTo(CallArgs.Method.HEALTH);
        assertThat(args.target()).isEqualTo(Endpoint.tcp("127.0.0.1", 7000));
        assertThat(args.prompt()).isEqualTo("a=b");
    }

    @Test
    void payloadTakesSeveralEntriesAndRepeats() throws UsageException {
        final CallArgs args = CallArgs.parse(List.of(
                "--payload", "a=1", "b=2", "--method", "control", "--payload", "c=x=y", "--payload=d="));

        assertThat(args.payload()).isEqualTo(Map.of("a", "1", "b", "2", "c", "x=y", "d", ""));
        assertThat(args.method()).isEqualTo(CallArgs.Method.CONTROL);
    }

    @Test
    void aPromptMayStartWithDashes() throws UsageException {
        assertThat(CallArgs.parse(List.of("--prompt", "--not-a-flag")).prompt()).isEqualTo("--not-a-flag");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--max-new-tokens abc        | --max-new-tokens: abc (expected: a whole number)",
        "--max-new-tokens -1         | --max-new-tokens: -1 (expected: a whole number in [0, 2147483647])",
        "--max-new-tokens 4294967296 | --max-new-tokens: 4294967296 (expected: a whole number in [0, 2147483647])",
        "--deadline-ms 0             | --deadline-ms: 0 (expected: a whole number in [1, 9223372036854775807])",
        "--deadline-ms soon          | --deadline-ms: soon (expected: a whole number)",
        "--temperature hot           | --temperature: hot (expected: a number)",
        "--temperature -0.5          | --temperature: -0.5 (expected: a finite number >= 0)",
        "--temperature NaN           | --temperature: NaN (expected: a finite number >= 0)",
        "--method stream2            | --method: stream2 (expected: stream, health or control)",
        "--target nowhere            | --target: nowhere (expected: host:port)",
        "--target tmp/c.sock         | --target: tmp/c.sock (expected: an absolute socket path such as /tmp/cy_sidecar.sock, or host:port)",
        "--target unix://relative    | --target: unix:relative (expected: an absolute path, e.g. unix:///tmp/cy_sidecar.sock)",
        "--payload novalue           | --payload: novalue (expected: key=value)",
        "--payload =x                | --payload: =x (expected: key=value)",
        "--token=                    | --token: empty (expected: a value)",
        "--model                     | --model: missing value",
        "--model --prompt x          | --model: missing value",
        "--bogus 1                   | unknown flag: --bogus",
        "--bogus=1                   | unknown flag: --bogus",
        "stray                       | unexpected argument: stray",
    })
    void rejectsBadFlagsNamingTheFlag(String line, String message) {
        assertThatThrownBy(() -> CallArgs.parse(List.of(line.split(" "))))
                .isInstanceOf(UsageException.class)
                .hasMessage(message);
    }
}
