package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Defaults, then the YAML file, then the contract's variables, then CY_ variables; errors name the setting. */
class ConfigLoaderTest {

    @TempDir
    Path dir;

    /** Authentication has tests of its own; these leave it off, so no credential source is needed. */
    static ConfigLoader load(Path file, Map<String, String> env) {
        return ConfigLoader.load(file, noAuth(env));
    }

    static ConfigLoader yaml(String yaml, Map<String, String> env) {
        return ConfigLoader.fromYaml(yaml, noAuth(env));
    }

    private static Map<String, String> noAuth(Map<String, String> env) {
        final Map<String, String> withAuthOff = new HashMap<>(env);
        withAuthOff.putIfAbsent("CY_AUTH_MODE", "none");
        return withAuthOff;
    }

    private static CoordinatorConfig fromYaml(String yaml) {
        return yaml(yaml, Map.of()).config();
    }

    private static CoordinatorConfig fromEnv(Map<String, String> env) {
        return load(null, env).config();
    }

    private static Endpoint unix(String path) {
        return Endpoint.unix(Path.of(path));
    }

    @Nested
    class Defaults {

        @Test
        void withoutFileAndEnvironmentTheDocumentedDefaultsApply() {
            final CoordinatorConfig config = fromEnv(Map.of());

            assertThat(config.server().grpcAddr()).isEqualTo(Endpoint.tcp("0.0.0.0", 50050));
            assertThat(config.server().udsPath()).isNull();
            assertThat(config.sidecars().addresses()).containsExactly(unix("/tmp/cy_sidecar.sock"));
            assertThat(config.sidecars().internalToken()).isEmpty();
            assertThat(config.sidecars().health().interval()).isEqualTo(Duration.ofSeconds(2));
            assertThat(config.sidecars().health().timeout()).isEqualTo(Duration.ofSeconds(1));
            assertThat(config.sidecars().health().unhealthyThreshold()).isEqualTo(2);
            assertThat(config.sidecars().health().healthyThreshold()).isEqualTo(2);
            assertThat(config.limits().maxPromptBytes()).isEqualTo(1 << 20);
            assertThat(config.limits().maxNewTokens()).isEqualTo(8192);
            assertThat(config.shutdown().grace()).isEqualTo(Duration.ofSeconds(30));
            assertThat(config.log().access()).isTrue();
        }

        @Test
        void anEmptyYamlDocumentIsTheDefaults() {
            assertThat(fromYaml("")).isEqualTo(fromEnv(Map.of()));
            assertThat(fromYaml("# nothing but a comment\n")).isEqualTo(fromEnv(Map.of()));
        }
    }

    @Nested
    class YamlFile {

        private static final String YAML = String.join("\n",
                "server:",
                "  grpc_addr: 127.0.0.1:6000",
                "  uds_path: unix:///run/cy/coordinator.sock",
                "sidecars:",
                "  addresses: [\"unix:///run/cy/a.sock\", \"localhost:50051\"]",
                "  health:",
                "    interval: 500ms",
                "    timeout: 250ms",
                "    unhealthy_threshold: 3",
                "limits:",
                "  max_new_tokens: 1024",
                "shutdown:",
                "  grace: 1m",
                "log:",
                "  access: false",
                "");

        @Test
        void valuesFromAFileApplyAndTheRestKeepsItsDefaults() throws Exception {
            final Path file = Files.writeString(dir.resolve("coordinator.yaml"), YAML);

            final CoordinatorConfig config = load(file, Map.of()).config();

            assertThat(config.server().grpcAddr()).isEqualTo(Endpoint.tcp("127.0.0.1", 6000));
            assertThat(config.server().udsPath()).isEqualTo(unix("/run/cy/coordinator.sock"));
            assertThat(config.sidecars().addresses())
                    .containsExactly(unix("/run/cy/a.sock"), Endpoint.tcp("localhost", 50051));
            assertThat(config.sidecars().health().interval()).isEqualTo(Duration.ofMillis(500));
            assertThat(config.sidecars().health().timeout()).isEqualTo(Duration.ofMillis(250));
            assertThat(config.sidecars().health().unhealthyThreshold()).isEqualTo(3);
            assertThat(config.sidecars().health().healthyThreshold()).isEqualTo(2);
            assertThat(config.limits().maxNewTokens()).isEqualTo(1024);
            assertThat(config.limits().maxPromptBytes()).isEqualTo(1 << 20);
            assertThat(config.shutdown().grace()).isEqualTo(Duration.ofMinutes(1));
            assertThat(config.log().access()).isFalse();
        }

        @Test
        void yamlTextGivesTheSameResultAsTheFile() throws Exception {
            final Path file = Files.writeString(dir.resolve("coordinator.yaml"), YAML);

            assertThat(yaml(YAML, Map.of()).config())
                    .isEqualTo(load(file, Map.of()).config());
        }

        @Test
        void addressesMayAlsoBeACommaSeparatedString() {
            final CoordinatorConfig config = fromYaml("sidecars: {addresses: \"unix:/a.sock, b:1\"}");

            assertThat(config.sidecars().addresses()).containsExactly(unix("/a.sock"), Endpoint.tcp("b", 1));
        }
    }

    @Nested
    class ContractVariables {

        @Test
        void sidecarGrpcAddrTakesACommaSeparatedList() {
            final CoordinatorConfig config = fromEnv(Map.of(
                    "SIDECAR_GRPC_ADDR", "unix:///tmp/s1.sock, localhost:50051,,unix:/tmp/s2.sock"));

            assertThat(config.sidecars().addresses()).containsExactly(
                    unix("/tmp/s1.sock"), Endpoint.tcp("localhost", 50051), unix("/tmp/s2.sock"));
        }

        @Test
        void workerUdsPathsAndWorkerUdsPathAreAliases() {
            assertThat(fromEnv(Map.of("WORKER_UDS_PATHS", "unix:///tmp/w1.sock,unix:///tmp/w2.sock"))
                    .sidecars().addresses()).containsExactly(unix("/tmp/w1.sock"), unix("/tmp/w2.sock"));
            assertThat(fromEnv(Map.of("WORKER_UDS_PATH", "unix:///tmp/w.sock"))
                    .sidecars().addresses()).containsExactly(unix("/tmp/w.sock"));
        }

        @Test
        void sidecarGrpcAddrWinsOverTheAliasesAndThePluralAliasOverTheSingular() {
            assertThat(fromEnv(Map.of(
                    "WORKER_UDS_PATH", "unix:///tmp/single.sock",
                    "WORKER_UDS_PATHS", "unix:///tmp/plural.sock",
                    "SIDECAR_GRPC_ADDR", "unix:///tmp/sidecar.sock")).sidecars().addresses())
                    .containsExactly(unix("/tmp/sidecar.sock"));
            assertThat(fromEnv(Map.of(
                    "WORKER_UDS_PATH", "unix:///tmp/single.sock",
                    "WORKER_UDS_PATHS", "unix:///tmp/plural.sock")).sidecars().addresses())
                    .containsExactly(unix("/tmp/plural.sock"));
        }

        @Test
        void aBlankContractVariableIsIgnored() {
            assertThat(fromEnv(Map.of("SIDECAR_GRPC_ADDR", "  ", "WORKER_UDS_PATH", "unix:///tmp/w.sock"))
                    .sidecars().addresses()).containsExactly(unix("/tmp/w.sock"));
        }

        @Test
        void anEmptyCoordinatorHttpAddrTurnsTheHttpListenerOff() {
            assertThat(fromEnv(Map.of()).http().addr()).isEqualTo(Endpoint.tcp("0.0.0.0", 8080));
            assertThat(fromEnv(Map.of("COORDINATOR_HTTP_ADDR", "")).http().addr()).isNull();
            assertThat(yaml("http: {addr: \"127.0.0.1:8081\"}", Map.of("COORDINATOR_HTTP_ADDR", " ")).config()
                    .http().addr()).isNull();
        }

        @Test
        void listenAddressesAndTokenComeFromTheirVariables() {
            final CoordinatorConfig config = fromEnv(Map.of(
                    "COORDINATOR_GRPC_ADDR", "127.0.0.1:7000",
                    "COORDINATOR_UDS_PATH", "unix:///tmp/cy_coordinator.sock",
                    "CY_LLM_INTERNAL_TOKEN", "internal-secret"));

            assertThat(config.server().grpcAddr()).isEqualTo(Endpoint.tcp("127.0.0.1", 7000));
            assertThat(config.server().udsPath()).isEqualTo(unix("/tmp/cy_coordinator.sock"));
            assertThat(config.sidecars().internalToken()).isEqualTo("internal-secret");
        }

        @Test
        void coordinatorUdsPathAcceptsAPlainAbsolutePathAsTheOpenSourceCoordinatorDid() {
            // The contract: the Python coordinator reads COORDINATOR_UDS_PATH as a file path,
            // default /tmp/cy_coordinator.sock, with no unix: scheme.
            final CoordinatorConfig config = fromEnv(Map.of("COORDINATOR_UDS_PATH", "/tmp/cy_coordinator.sock"));

            assertThat(config.server().udsPath()).isEqualTo(unix("/tmp/cy_coordinator.sock"));
        }

        @Test
        void theEnvironmentOverridesTheFile() throws Exception {
            final Path file = Files.writeString(dir.resolve("c.yaml"), String.join("\n",
                    "server: {grpc_addr: \"127.0.0.1:6000\"}",
                    "sidecars: {addresses: [\"unix:///from/file.sock\"], internal_token: file-token}",
                    ""));

            final CoordinatorConfig config = load(file, Map.of(
                    "SIDECAR_GRPC_ADDR", "unix:///from/env.sock",
                    "COORDINATOR_GRPC_ADDR", "127.0.0.1:7000",
                    "CY_LLM_INTERNAL_TOKEN", "env-token")).config();

            assertThat(config.sidecars().addresses()).containsExactly(unix("/from/env.sock"));
            assertThat(config.server().grpcAddr()).isEqualTo(Endpoint.tcp("127.0.0.1", 7000));
            assertThat(config.sidecars().internalToken()).isEqualTo("env-token");
        }
    }

    @Nested
    class CyVariables {

        @Test
        void anySettingCanBeOverriddenByItsPath() {
            final CoordinatorConfig config = fromEnv(Map.of(
                    "CY_LIMITS_MAX_NEW_TOKENS", "4096",
                    "CY_SHUTDOWN_GRACE", "5s",
                    "CY_SIDECARS_HEALTH_INTERVAL", "300ms",
                    "CY_SIDECARS_HEALTH_TIMEOUT", "100ms",
                    "CY_LOG_ACCESS", "false"));

            assertThat(config.limits().maxNewTokens()).isEqualTo(4096);
            assertThat(config.shutdown().grace()).isEqualTo(Duration.ofSeconds(5));
            assertThat(config.sidecars().health().interval()).isEqualTo(Duration.ofMillis(300));
            assertThat(config.sidecars().health().timeout()).isEqualTo(Duration.ofMillis(100));
            assertThat(config.log().access()).isFalse();
        }

        @Test
        void aCyVariableWinsOverTheFileAndOverTheContractVariable() throws Exception {
            final Path file = Files.writeString(dir.resolve("c.yaml"), "limits: {max_new_tokens: 100}\n");

            final CoordinatorConfig config = load(file, Map.of(
                    "CY_LIMITS_MAX_NEW_TOKENS", "200",
                    "SIDECAR_GRPC_ADDR", "unix:///tmp/contract.sock",
                    "CY_SIDECARS_ADDRESSES", "unix:///tmp/cy-a.sock,unix:///tmp/cy-b.sock",
                    "COORDINATOR_GRPC_ADDR", "127.0.0.1:7000",
                    "CY_SERVER_GRPC_ADDR", "127.0.0.1:8000",
                    "CY_LLM_INTERNAL_TOKEN", "contract-token",
                    "CY_SIDECARS_INTERNAL_TOKEN", "cy-token")).config();

            assertThat(config.limits().maxNewTokens()).isEqualTo(200);
            assertThat(config.sidecars().addresses()).containsExactly(unix("/tmp/cy-a.sock"), unix("/tmp/cy-b.sock"));
            assertThat(config.server().grpcAddr()).isEqualTo(Endpoint.tcp("127.0.0.1", 8000));
            assertThat(config.sidecars().internalToken()).isEqualTo("cy-token");
        }

        @Test
        void aBadValueFromTheEnvironmentNamesTheSetting() {
            assertThatThrownBy(() -> fromEnv(Map.of("CY_LIMITS_MAX_NEW_TOKENS", "lots")))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("limits.max_new_tokens")
                    .hasMessageContaining("lots");
        }
    }

    @Nested
    class Errors {

        @Test
        void anUnknownKeyIsATypoThatStopsStartup() {
            assertThatThrownBy(() -> fromYaml("server:\n  grpc_adr: 127.0.0.1:1\n"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("server.grpc_adr")
                    .hasMessageContaining("unknown setting")
                    .hasMessageContaining("grpc_addr");
            assertThatThrownBy(() -> fromYaml("sidecar: {addresses: [\"a:1\"]}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("sidecar: unknown setting");
        }

        @Test
        void anIssuerMustBeHttpsUnlessItIsLocal() {
            assertThatThrownBy(() -> fromYaml("auth: {oidc: {issuer: \"http://auth.example.com\"}}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("auth.oidc.issuer: 'http://auth.example.com' (expected: an https:// URL");
            assertThat(fromYaml("auth: {oidc: {issuer: \"http://127.0.0.1:8081/realm\"}}").auth().oidc().issuer())
                    .isEqualTo("http://127.0.0.1:8081/realm");
        }

        @Test
        void aValueWhereASectionBelongsIsRejected() {
            assertThatThrownBy(() -> fromYaml("limits: 5"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("limits")
                    .hasMessageContaining("expected: a mapping");
        }

        @Test
        void aBadNumberNamesTheSettingAndTheValue() {
            assertThatThrownBy(() -> fromYaml("limits: {max_new_tokens: many}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("limits.max_new_tokens: 'many' (expected: a whole number)");
        }

        @Test
        void anOutOfRangeNumberNamesTheRange() {
            assertThatThrownBy(() -> fromYaml("limits: {max_new_tokens: 0}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("limits.max_new_tokens: 0 (expected: >= 1)");
            assertThatThrownBy(() -> fromYaml("sidecars: {health: {unhealthy_threshold: 101}}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("sidecars.health.unhealthy_threshold: 101 (expected: in [1, 100])");
        }

        @Test
        void aBadDurationNamesTheSettingAndTheAcceptedForms() {
            assertThatThrownBy(() -> fromYaml("shutdown: {grace: 30 seconds}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("shutdown.grace: '30 seconds'")
                    .hasMessageContaining("500ms");
            assertThatThrownBy(() -> fromYaml("shutdown: {grace: 30}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("shutdown.grace: '30'");
        }

        @Test
        void aDurationBelowItsMinimumIsRejected() {
            assertThatThrownBy(() -> fromYaml("sidecars: {health: {interval: 5ms, timeout: 1ms}}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("sidecars.health.interval")
                    .hasMessageContaining(">= 10ms");
        }

        @Test
        void aRelativeUnixPathIsRejected() {
            assertThatThrownBy(() -> fromYaml("sidecars: {addresses: [\"unix:///tmp/ok.sock\", \"unix:relative.sock\"]}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("sidecars.addresses[1]: ")
                    .hasMessageContaining("absolute");
            assertThatThrownBy(() -> fromYaml("server: {uds_path: \"unix:run/c.sock\"}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("server.uds_path: ")
                    .hasMessageContaining("absolute");
        }

        @Test
        void anEmptyGrpcAddrAsksForWhatItAccepts() {
            assertThatThrownBy(() -> fromYaml("server: {grpc_addr: \"\"}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("server.grpc_addr: empty (expected: host:port; use server.uds_path for a Unix socket)");
        }

        @Test
        void aUnixAddressForTheTcpListenerPointsToUdsPath() {
            assertThatThrownBy(() -> fromEnv(Map.of("COORDINATOR_GRPC_ADDR", "unix:///tmp/c.sock")))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("server.grpc_addr: unix:///tmp/c.sock")
                    .hasMessageContaining("server.uds_path");
        }

        @Test
        void aTcpAddressForTheUnixListenerIsRejected() {
            assertThatThrownBy(() -> fromYaml("server: {uds_path: \"localhost:1234\"}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("server.uds_path: localhost:1234");
        }

        @Test
        void noSidecarsIsRejected() {
            assertThatThrownBy(() -> fromYaml("sidecars: {addresses: []}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("sidecars.addresses: empty");
        }

        @Test
        void aHealthTimeoutLongerThanTheIntervalIsRejected() {
            assertThatThrownBy(() -> fromYaml("sidecars: {health: {interval: 1s, timeout: 2s}}"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("sidecars.health.timeout: 2000ms")
                    .hasMessageContaining("sidecars.health.interval");
        }

        @Test
        void invalidYamlSaysWhereTheTextCameFrom() throws Exception {
            assertThatThrownBy(() -> fromYaml("server: [unclosed\n"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("not valid YAML");
            final Path file = Files.writeString(dir.resolve("broken.yaml"), "server:\n  grpc_addr: [\n");
            assertThatThrownBy(() -> load(file, Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(file.toString())
                    .hasMessageContaining("not valid YAML");
        }

        @Test
        void aYamlDocumentThatIsNotAMappingIsRejected() {
            assertThatThrownBy(() -> fromYaml("- a\n- b\n"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("expected: a mapping of settings");
        }

        @Test
        void aMissingFileIsNamed() {
            final Path missing = dir.resolve("nope.yaml");

            assertThatThrownBy(() -> load(missing, Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(missing.toString())
                    .hasMessageContaining("no such file");
        }
    }

    @Nested
    class Describe {

        @Test
        void theInternalTokenIsNeverShown() throws Exception {
            final String token = "s3cr3t-t0ken-value";
            final Path file = Files.writeString(dir.resolve("c.yaml"), "sidecars: {internal_token: file-" + token + "}\n");

            final ConfigLoader fromEnv = load(null, Map.of("CY_LLM_INTERNAL_TOKEN", token));
            final ConfigLoader fromFile = load(file, Map.of());

            assertThat(fromEnv.describe()).doesNotContain(token).contains("\"internal_token\":\"<redacted>\"");
            assertThat(fromFile.describe()).doesNotContain(token).contains("<redacted>");
            assertThat(fromEnv.config().sidecars().toString()).doesNotContain(token);
            assertThat(fromEnv.config().toString()).doesNotContain(token);
        }

        @Test
        void credentialsInAUrlsQueryAreNeverShown() {
            final String description = load(null, Map.of(
                    "CY_USAGE_WEBHOOK_URL", "https://hooks.example/usage?team=ml&access_token=t0k3n&sig=abc123",
                    "DB_URL", "postgresql://cy:pa55@db/cy_audit?sslmode=require&password=pa55")).describe();

            assertThat(description).doesNotContain("t0k3n", "abc123", "pa55")
                    .contains("https://hooks.example/usage?team=ml&access_token=<redacted>&sig=<redacted>")
                    .contains("sslmode=require");
        }

        @Test
        void describeShowsTheEffectiveSettings() {
            final String description = load(null, Map.of(
                    "SIDECAR_GRPC_ADDR", "unix:///tmp/described.sock",
                    "CY_LIMITS_MAX_NEW_TOKENS", "4096")).describe();

            assertThat(description)
                    .contains("unix:///tmp/described.sock")
                    .contains("4096")
                    .contains("\"internal_token\":\"\"")
                    .doesNotContain("\n");
        }
    }
}
