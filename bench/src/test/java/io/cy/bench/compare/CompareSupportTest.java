package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.UsageException;
import io.cy.coordinator.auth.Authentication;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.config.ConfigLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The comparison's helpers that need no processes: arguments, nginx.conf, jcmd output, the token. */
class CompareSupportTest {

    @Test
    void everySecondPairRunsTheTargetsInReverseOrder() {
        final List<String> targets = List.of("direct", "nginx", "coordinator");
        assertThat(ScenarioTurns.turnOrder(targets, 1)).containsExactly("direct", "nginx", "coordinator");
        assertThat(ScenarioTurns.turnOrder(targets, 2)).containsExactly("coordinator", "nginx", "direct");
        assertThat(ScenarioTurns.turnOrder(targets, 3)).containsExactly("direct", "nginx", "coordinator");
        assertThat(targets).as("the scenario's list is left as it is").containsExactly("direct", "nginx",
                "coordinator");
    }

    @Test
    void portsChosenTogetherAreAllDifferent() throws Exception {
        for (int round = 0; round < 50; round++) {
            final int[] ports = CompareCommand.freePorts(3);
            assertThat(ports).doesNotHaveDuplicates().doesNotContain(0);
            assertThat(CompareCommand.freePortOtherThan(ports[0])).isNotEqualTo(ports[0]);
        }
    }

    @Test
    void argumentsPickScenarios() throws UsageException {
        final CompareArgs full = CompareArgs.parse(List.of());
        final CompareArgs quick = CompareArgs.parse(List.of("--quick", "--scenario", "c64,mem2k"));

        assertThat(full.scenarios()).extracting(Scenario::name)
                .containsExactly("c1", "c64", "h2c1", "h2c64", "open500", "c1000", "sse", "mem10k");
        assertThat(full.pairs()).isEqualTo(3);
        assertThat(full.nginx()).isTrue();
        assertThat(quick.scenarios()).extracting(Scenario::name).containsExactly("c64", "mem2k");
        assertThat(quick.pairs()).isEqualTo(2);
        assertThatThrownBy(() -> CompareArgs.parse(List.of("--scenario", "c2")))
                .isInstanceOf(UsageException.class)
                .hasMessage("--scenario: c2 (expected: one of c1, c64, h2c1, h2c64, open500, c1000, sse, mem10k, replicas2)");
        assertThat(CompareArgs.parse(List.of("--quick")).scenarios()).extracting(Scenario::name)
                .containsExactly("c1", "c64", "h2c1", "h2c64", "open500", "sse", "mem2k");
        assertThatThrownBy(() -> CompareArgs.parse(List.of("--pairs", "0")))
                .hasMessage("--pairs: 0 (expected: >= 1)");
    }

    @Test
    void warmUpsCanBeLengthened() throws UsageException {
        final CompareArgs longer = CompareArgs.parse(List.of("--scenario", "c1,c64,h2c64,mem10k", "--warmup-s", "30"));

        // c1's own warm-up is 20 s, c64's and h2c64's 3 s; the memory run has none and keeps none.
        assertThat(longer.scenarios()).extracting(s -> s.warmup().toSeconds()).containsExactly(30L, 30L, 30L, 0L);
        assertThat(CompareArgs.parse(List.of("--scenario", "sse", "--warmup-s", "10")).scenarios().get(0).warmup())
                .isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> CompareArgs.parse(List.of("--warmup-s", "0")))
                .hasMessage("--warmup-s: 0 (expected: >= 1)");
    }

    @Test
    void everyFullScenarioFitsItsOwnLimits() {
        for (Scenario s : Scenario.full()) {
            assertThat(s.plan(null).request().getGeneration().getMaxNewTokens()).isEqualTo(s.tokens());
            assertThat(s.channels()).isGreaterThanOrEqualTo((s.concurrency() + 999) / 1000);
        }
        final Scenario mem = Scenario.full().stream().filter(Scenario::memory).findFirst().orElseThrow();
        assertThat(mem.memoryPlan("t").calls()).isEqualTo(10_000);
        assertThat(mem.memoryPlan("t").request().getMetadata().getExtraMap()).containsEntry("sim.ttft_ms", "30000");
    }

    @Test
    void theBridgeScenarioIsOneCallAtATimeWithoutDelay() {
        for (List<Scenario> set : List.of(Scenario.full(), Scenario.quick())) {
            final Scenario sse = set.stream().filter(s -> s.name().equals("sse")).findFirst().orElseThrow();

            assertThat(sse.kind()).isEqualTo(Scenario.Kind.BRIDGE);
            assertThat(sse.memory()).isFalse();
            assertThat(sse.concurrency()).isEqualTo(1);
            assertThat(sse.rate()).isZero();
            assertThat(sse.tokens()).isEqualTo(16);
            assertThat(sse.plan("t").request().getMetadata().getExtraMap()).isEmpty();
            assertThat(sse.plan("t").token()).isEqualTo("t");
        }
        assertThat(Scenario.full().stream().filter(s -> s.kind() == Scenario.Kind.BRIDGE)).hasSize(1);
        final Scenario quickSse = Scenario.quick().stream().filter(s -> s.name().equals("sse")).findFirst().orElseThrow();
        final Scenario described = quickSse.withDescription("other words");
        assertThat(described.description()).isEqualTo("other words");
        assertThat(described.kind()).isEqualTo(Scenario.Kind.BRIDGE);
        assertThat(described.duration()).isEqualTo(quickSse.duration());
    }

    @Test
    void nginxPassesGrpcToTheSocket() {
        final String conf = NginxProxy.config(Path.of("/w/nginx"), 8123, Path.of("/w/sim.sock"), true);

        assertThat(conf).contains("user root;")
                .contains("server unix:/w/sim.sock;")
                .contains("listen 127.0.0.1:8123 http2;")
                .contains("grpc_pass grpc://sidecar;")
                .contains("pid /w/nginx/nginx.pid;")
                .doesNotContain("daemon");
        assertThat(NginxProxy.config(Path.of("/w"), 1, Path.of("/s"), false)).doesNotContain("user ");
    }

    @Test
    void readsJcmdAndProcOutput() {
        final String heapInfo = "4242:\n garbage-first heap   total 262144K, used 21504K [0x00000000e0000000, 0x0000000100000000)\n"
                + "  region size 1024K, 5 young (5120K), 0 survivors (0K)\n Metaspace       used 30000K, committed 30336K\n";
        final String status = "Name:\tjava\nVmPeak:\t 4000000 kB\nVmRSS:\t  181234 kB\nRssAnon:\t 1 kB\n";

        assertThat(JvmMemory.parseHeapUsed(heapInfo)).isEqualTo(21504L * 1024);
        assertThat(JvmMemory.parseHeapUsed("no heap here")).isEqualTo(-1);
        assertThat(JvmMemory.parseRss(status)).isEqualTo(181234L * 1024);
    }

    @Test
    void machineLoadSaysHowMuchOthersUsed() {
        final MachineLoad.Ticks start = MachineLoad.parse("cpu  1000 0 200 5000 10 0 0 0 0 0\ncpu0 1 2 3 4\n");
        // 2,000 ticks later: 1,200 busy (300 of them ours: 3 s), 40 stolen, 760 idle.
        final MachineLoad.Ticks end = MachineLoad.parse("cpu  2000 0 400 5760 10 0 0 40 0 0\n");

        assertThat(start).isEqualTo(new MachineLoad.Ticks(1200, 0, 6210));
        assertThat(MachineLoad.describe(start, end, 3_000_000_000L)).isEqualTo("CPUs 60% busy, 2% stolen by the"
                + " hypervisor; processes outside the comparison used 45% of the machine (every figure is distorted by that)");
        assertThat(MachineLoad.describe(null, end, 0)).isEqualTo("unknown (no /proc/stat)");
    }

    @Test
    void theTokenIsAcceptedByTheCoordinatorsAuthentication() throws Exception {
        final String secret = HmacJwt.newSecret();
        final String token = HmacJwt.mint(secret, "cy-bench", "bench", Duration.ofHours(1));
        try (Authenticator authenticator = Authenticator.start(
                ConfigLoader.load(null, Map.of("CY_AUTH_HMAC_SECRET", secret)).config().auth())) {

            final Authentication result = authenticator.authenticate(token).get();

            assertThat(result.isAuthenticated()).isTrue();
            assertThat(result.identity().tenant()).isEqualTo("bench");
            assertThat(authenticator.authenticate(HmacJwt.mint(HmacJwt.newSecret(), "x", "bench", Duration.ofHours(1)))
                    .get().isAuthenticated()).isFalse();
        }
    }

    @Test
    void coordinatorColumnsAddGovernanceOneAtATime() {
        final Path work = Path.of("/w");
        assertThat(CompareCommand.variants(false, "s", null, work)).extracting(CompareCommand.Variant::name)
                .containsExactly("coordinator", "coordinator+auth", "coordinator+auth+quota", "coordinator+auth+quota+audit");
        final List<CompareCommand.Variant> all = CompareCommand.variants(true, "s", "postgresql://db/x", work);
        assertThat(all).extracting(CompareCommand.Variant::name).containsExactly("coordinator", "coordinator+auth",
                "coordinator+auth+quota", "coordinator+auth+quota+audit", "coordinator+all+log");
        assertThat(all.get(0).env()).containsEntry("CY_AUTH_MODE", "none").containsEntry("CY_AUDIT_ENABLED", "false")
                .doesNotContainKey("CY_QUOTA_DEFAULT_CONCURRENT");
        assertThat(all.get(1).env()).containsEntry("CY_AUTH_MODE", "required").containsEntry("CY_AUTH_HMAC_SECRET", "s")
                .doesNotContainKey("CY_QUOTA_DEFAULT_CONCURRENT");
        assertThat(all.get(2).env()).containsEntry("CY_QUOTA_DEFAULT_CONCURRENT", "1000000")
                .containsEntry("CY_AUDIT_ENABLED", "false");
        assertThat(all.get(3).env()).containsEntry("CY_AUDIT_ENABLED", "true").containsEntry("DB_URL", "postgresql://db/x")
                .containsEntry("CY_AUDIT_SPOOL_DIR", "/w/audit-spool").containsEntry("CY_LOG_ACCESS", "false");
        assertThat(all.get(4).env()).containsEntry("CY_LOG_ACCESS", "true").containsEntry("CY_AUDIT_ENABLED", "true");
        // They run at the same time; a spool directory is locked by one audit log.
        assertThat(all.get(4).env().get("CY_AUDIT_SPOOL_DIR")).isNotEqualTo(all.get(3).env().get("CY_AUDIT_SPOOL_DIR"));
        assertThat(CompareCommand.variants(false, "s", null, work).get(3).env()).doesNotContainKey("DB_URL");
        // Metrics off in every column but their own, which adds them to everything else.
        assertThat(all).allSatisfy(v -> assertThat(v.env()).containsEntry("CY_ADMIN_ADDR", ""));
        final List<CompareCommand.Variant> withMetrics = CompareCommand.variants(false, true, "s", null, work);
        assertThat(withMetrics).extracting(CompareCommand.Variant::name).endsWith("coordinator+all+metrics");
        assertThat(withMetrics.get(4).env()).containsEntry("CY_ADMIN_ADDR", "127.0.0.1:0")
                .containsEntry("CY_AUDIT_ENABLED", "true").containsEntry("CY_AUTH_MODE", "required");
        assertThat(withMetrics.get(4).env().get("CY_AUDIT_SPOOL_DIR"))
                .isNotEqualTo(withMetrics.get(3).env().get("CY_AUDIT_SPOOL_DIR"));
    }

    @Test
    void aQuotaRedisColumnFollowsTheQuotaOneWithTheSameLimitsKeptInRedis() throws Exception {
        final List<CompareCommand.Variant> all = CompareCommand.variants(false, false, "s", null,
                "redis://127.0.0.1:6379/15", Path.of("/w"));

        assertThat(all).extracting(CompareCommand.Variant::name).containsExactly("coordinator", "coordinator+auth",
                "coordinator+auth+quota", "coordinator+auth+quota(redis)", "coordinator+auth+quota+audit");
        final java.util.Map<String, String> local = new java.util.HashMap<>(all.get(2).env());
        local.put("CY_QUOTA_STORE", "redis");
        local.put("CY_QUOTA_REDIS_URL", "redis://127.0.0.1:6379/15");
        assertThat(all.get(3).env()).isEqualTo(local);
        assertThat(all.get(4).env()).doesNotContainKey("CY_QUOTA_STORE");
        assertThat(CompareArgs.parse(List.of("--quota-redis", "redis://h:6379/15"), java.util.Map.of()).quotaRedis())
                .isEqualTo("redis://h:6379/15");
        assertThat(CompareArgs.parse(List.of(), java.util.Map.of()).quotaRedis()).isNull();
    }

    @Test
    void auditDatabaseDefaultsToDbUrl() throws UsageException {
        assertThat(CompareArgs.parse(List.of(), Map.of("DB_URL", "postgresql://a/b")).auditDb()).isEqualTo("postgresql://a/b");
        assertThat(CompareArgs.parse(List.of("--audit-db", "postgresql://c/d"), Map.of()).auditDb())
                .isEqualTo("postgresql://c/d");
        assertThat(CompareArgs.parse(List.of(), Map.of()).auditDb()).isNull();
    }

    @Test
    void auditDatabaseNoneMeansTheSpoolFilesEvenWithDbUrlSet() throws UsageException {
        final Map<String, String> env = Map.of("DB_URL", "postgresql://a/b");
        assertThat(CompareArgs.parse(List.of("--audit-db", "none"), env).auditDb()).isNull();
        assertThat(CompareArgs.parse(List.of("--audit-db", ""), env).auditDb()).isNull();
        assertThat(CompareArgs.USAGE).contains("'none'");
    }
}
