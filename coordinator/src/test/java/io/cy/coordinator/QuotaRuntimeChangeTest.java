package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.awaitInflight;
import static io.cy.coordinator.QuotaCalls.control;
import static io.cy.coordinator.QuotaCalls.quota;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.QuotaCalls.usage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.config.ConfigException;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Limits changed at runtime, by Control {@code quota_set} or by reloading the configuration file,
 * apply to new calls only; usage survives them, {@code quota_reset} clears it, and invalid
 * changes change nothing.
 */
class QuotaRuntimeChangeTest {

    @TempDir
    Path dir;

    private TestStack stack;
    private Path configFile;
    /** A coordinator in front of the stack's sidecar whose configuration is re-read from {@link #configFile}. */
    private Coordinator reloadable;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> { }, "", Map.of());
        configFile = dir.resolve("coordinator.yaml");
        writeConfig("""
                quota:
                  default: {requests_per_minute: 1000}
                  tenants:
                    r: {requests_per_minute: 5}
                """);
        // Ephemeral ports only, as in TestStack.
        final Map<String, String> env = Map.of("SIDECAR_GRPC_ADDR", stack.sim().target(),
                "COORDINATOR_GRPC_ADDR", "127.0.0.1:0", "COORDINATOR_HTTP_ADDR", "127.0.0.1:0", "CY_AUTH_MODE", "none",
                "CY_AUDIT_ENABLED", "false");
        reloadable = TestStack.startFromFile(configFile, env);
        channel = stack.channel(reloadable.grpcEndpoint());
    }

    @AfterEach
    void stop() {
        if (reloadable != null) {
            reloadable.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    private void writeConfig(String yaml) throws IOException {
        Files.writeString(configFile, yaml);
    }

    private Map<String, String> reloadConfig() {
        return control(channel, "reload_config", Map.of()).getPayloadMap();
    }

    private Map<String, String> quotaSet(Map<String, String> payload) {
        return control(channel, "quota_set", payload).getPayloadMap();
    }

    private void callsSucceed(String tenant, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            final Result result = QuotaCalls.call(channel, request(tenant, 2));
            assertThat(result.status().isOk()).as("call %d of %s: %s", i + 1, tenant, result.status()).isTrue();
            // The client may see the end a moment before the slot is free; the next call needs it.
            awaitInflight(channel, tenant, 0);
        }
    }

    /** A stream of 10 chunks 40 ms apart that has delivered its first chunk. */
    private Stream streamInFlight(String tenant) throws InterruptedException {
        final Stream stream = Stream.start(channel, request(tenant, 10, Map.of("sim.gap_ms", "40")), 1);
        assertThat(stream.awaitChunks()).isTrue();
        return stream;
    }

    // --- quota_set ---

    @Test
    void quotaSetAppliesToNewCallsWhileAStreamInFlightCompletes() throws Exception {
        final Stream inFlight = streamInFlight("live");

        final Map<String, String> answer = quotaSet(Map.of("tenant", "live", "concurrent", "0"));

        assertThat(answer).containsEntry("status", "ok")
                .containsEntry("message", "quota of tenant live set for new calls")
                .containsEntry("policy", "tenant").containsEntry("limit.concurrent", "0")
                .containsEntry("limit.requests_per_minute", "1000");
        assertExhausted(QuotaCalls.call(channel, request("live", 2)), "tenant live: ");
        final Result completed = inFlight.awaitResult();
        assertThat(completed.status().isOk()).as("%s", completed.status()).isTrue();
        assertThat(completed.chunks()).hasSize(10);
        awaitInflight(channel, "live", 0);

        assertThat(quotaSet(Map.of("tenant", "live", "concurrent", "unlimited"))).containsEntry("status", "ok");
        callsSucceed("live", 1);
    }

    @Test
    void invalidQuotaSetValuesAreRefusedNamingTheKeyAndChangeNothing() {
        final Map<String, String> notANumber = quotaSet(Map.of("tenant", "r", "concurrent", "x"));
        assertThat(notANumber).containsEntry("status", "error").containsEntry("message",
                "payload.concurrent: 'x' (expected: a whole number, or empty for no limit)");

        final Map<String, String> negative = quotaSet(Map.of("tenant", "r", "requests_per_minute", "-3"));
        assertThat(negative).containsEntry("status", "error").containsEntry("message",
                "payload.requests_per_minute: -3 (expected: >= 0, or empty for no limit)");

        final Map<String, String> unknown = quotaSet(Map.of("tenant", "r", "rpm", "3"));
        assertThat(unknown).containsEntry("status", "error");
        assertThat(unknown.get("message")).startsWith("payload.rpm: unknown setting (expected one of: requests_per_minute");

        final Map<String, String> mixed = new LinkedHashMap<>();
        mixed.put("tenant", "r");
        mixed.put("concurrent", "2");
        mixed.put("tokens_per_minute", "lots");
        assertThat(quotaSet(mixed)).containsEntry("status", "error").containsEntry("message",
                "payload.tokens_per_minute: 'lots' (expected: a whole number, or empty for no limit)");

        assertThat(quotaSet(Map.of("concurrent", "2"))).containsEntry("status", "error")
                .containsEntry("message", "tenant: missing (expected: the tenant whose quota to set)");
        assertThat(quotaSet(Map.of("tenant", "r"))).containsEntry("status", "error");

        // nothing changed
        assertThat(quota(channel, "r")).containsEntry("limit.concurrent", "unlimited")
                .containsEntry("limit.requests_per_minute", "5").containsEntry("limit.tokens_per_minute", "unlimited");
    }

    // --- quota_reset ---

    @Test
    void quotaResetClearsUsage() throws Exception {
        callsSucceed("r", 5);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "tenant r: 6 requests/min (limit 5)");
        assertThat(usage(channel, "r", "requests_in_window")).isEqualTo(5);

        final Map<String, String> answer = control(channel, "quota_reset", Map.of("tenant", "r")).getPayloadMap();

        assertThat(answer).containsEntry("status", "ok").containsEntry("message", "usage of tenant r reset");
        assertThat(usage(channel, "r", "requests_in_window")).isZero();
        callsSucceed("r", 5);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "tenant r: 6 requests/min (limit 5)");
        assertThat(control(channel, "quota_reset", Map.of()).getPayloadMap()).containsEntry("status", "error")
                .containsEntry("message", "tenant: missing (expected: the tenant whose quota to reset)");
    }

    // --- reload ---

    @Test
    void reloadAppliesToNewCallsKeepsUsageAndLetsStreamsInFlightFinish() throws Exception {
        // given: 2 of tenant r's 5 requests used, and a stream of tenant q in flight
        callsSucceed("r", 2);
        final Stream inFlight = streamInFlight("q");

        // when: the file now also limits r's concurrency and allows q nothing, and is reloaded
        writeConfig("""
                quota:
                  default: {requests_per_minute: 1000}
                  tenants:
                    r: {requests_per_minute: 5, concurrent: 3}
                    q: {requests_per_minute: 0}
                """);
        assertThat(reloadConfig()).containsEntry("status", "ok")
                .containsEntry("message", "quota limits reloaded; other settings take effect on restart");

        // then: new limits for new calls
        assertThat(quota(channel, "r")).containsEntry("limit.concurrent", "3");
        assertExhausted(QuotaCalls.call(channel, request("q", 2)), "tenant q: no requests allowed (limit 0/min)");
        // and r's usage was kept: 3 more, not 5
        callsSucceed("r", 3);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "tenant r: 6 requests/min (limit 5)");
        // and q's stream, admitted before, completes
        final Result completed = inFlight.awaitResult();
        assertThat(completed.status().isOk()).as("%s", completed.status()).isTrue();
        assertThat(completed.chunks()).hasSize(10);
        awaitInflight(channel, "q", 0);
    }

    @Test
    void reloadConfigurationAppliesTheFileAsItIsNow() throws Exception {
        callsSucceed("r", 5);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "(limit 5)");

        writeConfig("quota: {tenants: {r: {concurrent: 1}}}");
        final String done = reloadable.reloadConfiguration();

        assertThat(done).isEqualTo("quota limits reloaded; other settings take effect on restart");
        assertThat(quota(channel, "r")).containsEntry("limit.requests_per_minute", "unlimited")
                .containsEntry("limit.concurrent", "1");
        callsSucceed("r", 2);
    }

    @Test
    void anInvalidReloadIsRefusedAndTheOldLimitsStay() throws Exception {
        writeConfig("quota: {tenants: {r: {concurrent: x}}}");
        assertThat(reloadConfig()).containsEntry("status", "error").containsEntry("message",
                "configuration not reloaded: quota.tenants.r.concurrent: 'x' (expected: a whole number,"
                        + " or empty for no limit)");

        writeConfig("quota: {tenants: {r: {rpm: 5}}}");
        assertThat(reloadConfig().get("message"))
                .startsWith("configuration not reloaded: quota.tenants.r.rpm: unknown setting");

        writeConfig("quota: {tenants: [");
        final Map<String, String> broken = reloadConfig();
        assertThat(broken).containsEntry("status", "error");
        assertThat(broken.get("message")).startsWith("configuration not reloaded: ").contains("not valid YAML");

        assertThatThrownBy(() -> reloadable.reloadConfiguration()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("not valid YAML");

        Files.delete(configFile);
        assertThat(reloadConfig().get("message")).startsWith("configuration not reloaded: config file: ")
                .endsWith("no such file");

        // the limits loaded at start still hold
        assertThat(quota(channel, "r")).containsEntry("limit.requests_per_minute", "5")
                .containsEntry("limit.concurrent", "unlimited");
        callsSucceed("r", 5);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "tenant r: 6 requests/min (limit 5)");
    }

    @Test
    void aReloadReplacesLimitsSetByQuotaSet() throws Exception {
        assertThat(quotaSet(Map.of("tenant", "r", "requests_per_minute", "50"))).containsEntry("status", "ok");
        assertThat(quota(channel, "r")).containsEntry("limit.requests_per_minute", "50");

        assertThat(reloadConfig()).containsEntry("status", "ok");

        assertThat(quota(channel, "r")).containsEntry("limit.requests_per_minute", "5");
    }

    @Test
    void raisingALimitOnReloadKeepsTheRequestsAlreadyMade() throws Exception {
        // given: 2 of 5 used
        callsSucceed("r", 2);

        // when: the limit is raised to 10
        writeConfig("quota: {tenants: {r: {requests_per_minute: 10}}}");
        assertThat(reloadConfig()).containsEntry("status", "ok");

        // then: 8 more fit in this minute (2 of 10 used), and the 11th request is refused
        callsSucceed("r", 8);
        assertThat(usage(channel, "r", "requests_in_window")).isEqualTo(10);
        assertExhausted(QuotaCalls.call(channel, request("r", 2)), "tenant r: 11 requests/min (limit 10)");
    }
}
