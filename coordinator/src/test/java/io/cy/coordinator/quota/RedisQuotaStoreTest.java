package io.cy.coordinator.quota;

import static io.cy.coordinator.quota.QuotaFixtures.quotas;
import static io.cy.coordinator.quota.QuotaFixtures.request;
import static io.cy.coordinator.quota.QuotaFixtures.usage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.CoordinatorConfig.QuotaStoreSettings;
import io.grpc.Status;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three replicas' stores on the Redis at 127.0.0.1:6379, each test under a key prefix of its own;
 * the outage tests run a redis-server of their own on a spare port.
 */
class RedisQuotaStoreTest {

    private static final String SHARED_REDIS = "redis://127.0.0.1:6379/0";

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(6);
    private String prefix;

    @BeforeEach
    void prefix() {
        prefix = "cy-test:" + UUID.randomUUID() + ":";
    }

    @AfterEach
    void close() throws Exception {
        pool.shutdownNow();
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    @Test
    void aBurstOverThreeReplicasAdmitsExactlyRequestsPerMinute() throws Exception {
        final List<Quotas> replicas = replicas(3, SHARED_REDIS, Map.of("requests_per_minute", "30"), false, 1);

        final List<QuotaDecision> decisions = burst(replicas, 90);

        assertThat(decisions.stream().filter(QuotaDecision::isAdmitted)).hasSize(30);
        final QuotaDecision refused = decisions.stream().filter(d -> !d.isAdmitted()).findFirst().orElseThrow();
        assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 31 requests/min (limit 30)");
        assertThat(QuotaFixtures.retryAfter(refused)).isBetween(1L, 2000L);
        // What refilled since the burst began is not shown as used.
        assertThat(usage(replicas.get(2), "acme", "requests_in_window")).isBetween(29L, 30L);
    }

    @Test
    void threeReplicasHoldExactlyConcurrentStreams() throws Exception {
        final List<Quotas> replicas = replicas(3, SHARED_REDIS, Map.of("concurrent", "5"), false, 1);

        final List<QuotaDecision> decisions = burst(replicas, 30);

        final List<QuotaDecision> admitted = decisions.stream().filter(QuotaDecision::isAdmitted).toList();
        assertThat(admitted).hasSize(5);
        assertThat(usage(replicas.get(0), "acme", "inflight")).isEqualTo(5);
        assertThat(replicas.get(1).admit("acme", request(1)).status().getDescription())
                .isEqualTo("tenant acme: 6 concurrent streams (limit 5)");

        admitted.get(0).admission().settle(1, true);
        awaitTrue(() -> shared(replicas.get(2), "acme", "inflight") == 4);
        assertThat(replicas.get(2).admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(replicas.get(0).admit("acme", request(1)).isAdmitted()).isFalse();
    }

    @Test
    void threeReplicasKeepOneTokensPerMinuteBound() throws Exception {
        final List<Quotas> replicas = replicas(3, SHARED_REDIS, Map.of("tokens_per_minute", "1000"), false, 1);

        // Each call reserves 100 tokens: 10 fit in a minute, over all three replicas together.
        final List<QuotaDecision> decisions = burst(replicas, 30, 100);

        final List<QuotaDecision> admitted = decisions.stream().filter(QuotaDecision::isAdmitted).toList();
        assertThat(admitted).hasSize(10);
        assertThat(decisions.stream().filter(d -> !d.isAdmitted()).findFirst().orElseThrow().reason())
                .isEqualTo(RejectionReason.TOKENS_PER_MINUTE);

        // The bucket refills 1000/min, under 100 tokens in the 6 s after the burst: the figures
        // below hold with that margin. Two calls end unused, one using all it reserved: 200 come back.
        admitted.get(0).admission().settle(0, false);
        admitted.get(1).admission().settle(0, false);
        admitted.get(2).admission().settle(100, false);
        awaitTrue(() -> shared(replicas.get(1), "acme", "tokens_in_minute_window") <= 800);
        assertThat(replicas.get(1).admit("acme", request(100)).isAdmitted()).isTrue();
        assertThat(replicas.get(2).admit("acme", request(100)).isAdmitted()).isTrue();
        assertThat(replicas.get(0).admit("acme", request(100)).isAdmitted()).isFalse();
        long charged = 0;
        for (Quotas replica : replicas) {
            charged += usage(replica, "acme", "tokens_charged");
        }
        assertThat(charged).isEqualTo(100);
    }

    @Test
    void aDeadReplicasSlotsAreFreeWithinTheLeaseWhileALiveOnesStayHeld() throws Exception {
        final Duration lease = Duration.ofSeconds(1);
        final RedisQuotaStore dying = store(SHARED_REDIS, lease, false, 1);
        final RedisQuotaStore living = store(SHARED_REDIS, lease, false, 1);
        final Quotas dead = quotas(dying, Map.of("concurrent", "2"));
        final Quotas alive = quotas(living, Map.of("concurrent", "2"));
        assertThat(alive.admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(dead.admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(alive.admit("acme", request(1)).isAdmitted()).isFalse();

        dying.close(); // its heartbeat stops, as when the process dies; its call never settles
        final long died = System.nanoTime();
        awaitTrue(() -> shared(alive, "acme", "inflight") == 1);
        final Duration freedAfter = Duration.ofNanos(System.nanoTime() - died);

        assertThat(freedAfter).isLessThan(lease.multipliedBy(2));
        // Held for more than a lease by its heartbeat: the living replica's call still counts.
        assertThat(alive.admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(alive.admit("acme", request(1)).isAdmitted()).isFalse();
    }

    @Test
    void whenRedisStopsReplicasFallBackToTheirShareAndCountRightAgainAfter() throws Exception {
        try (OwnRedis own = OwnRedis.start()) {
            final RedisQuotaStore first = store(own.url(), Duration.ofSeconds(1), false, 2);
            final RedisQuotaStore second = store(own.url(), Duration.ofSeconds(1), false, 2);
            final Quotas a = quotas(first, Map.of("concurrent", "4"));
            final Quotas b = quotas(second, Map.of("concurrent", "4"));
            assertThat(a.admit("acme", request(1)).isAdmitted()).isTrue();

            own.stop();
            // Each replica on its own: 4 / 2 = 2 streams (the one admitted before is Redis's).
            final List<QuotaDecision> during = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                final long start = System.nanoTime();
                during.add(a.admit("acme", request(1)));
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
            }
            assertThat(during.stream().filter(QuotaDecision::isAdmitted)).hasSize(2);
            assertThat(during.get(3).status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(Long.parseLong(a.metrics().get("quota_redis_fallbacks"))).isEqualTo(4);
            assertThat(a.metrics().get("quota_redis_available")).isEqualTo("0");

            own.restart(); // empty: it lost every count
            // The heartbeat puts this replica's three streams back; one more fits, on any replica.
            awaitTrue(() -> b.describe("acme").get("usage.inflight").equals("3"));
            assertThat(b.admit("acme", request(1)).isAdmitted()).isTrue();
            assertThat(usage(b, "acme", "inflight")).isEqualTo(4);
            assertThat(a.admit("acme", request(1)).isAdmitted()).isFalse();
            assertThat(a.metrics().get("quota_redis_available")).isEqualTo("1");
        }
    }

    @Test
    void rejectRefusesWithUnavailableWithoutWaitingLongerThanTheTimeout() throws Exception {
        final int port = freePort(); // nothing listens there
        final Quotas quotas = quotas(store("redis://127.0.0.1:" + port + "/0", Duration.ofSeconds(10), true, 1),
                Map.of("requests_per_minute", "100"));

        final long start = System.nanoTime();
        final QuotaDecision decision = quotas.admit("acme", request(1));

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
        assertThat(decision.isAdmitted()).isFalse();
        assertThat(decision.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(decision.reason()).isEqualTo(RejectionReason.UNAVAILABLE);
        assertThat(quotas.metrics()).containsEntry("quota_redis_unavailable_rejections", "1");
    }

    @Test
    void quotaResetEmptiesTheSharedBucketsForEveryReplica() throws Exception {
        final List<Quotas> replicas = replicas(2, SHARED_REDIS, Map.of("requests_per_minute", "2"), false, 1);
        assertThat(replicas.get(0).admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(replicas.get(1).admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(replicas.get(0).admit("acme", request(1)).isAdmitted()).isFalse();

        replicas.get(1).reset("acme");

        assertThat(usage(replicas.get(0), "acme", "requests_in_window")).isZero();
        assertThat(replicas.get(0).admit("acme", request(1)).isAdmitted()).isTrue();
    }

    @Test
    void quotaResetWithoutRedisSaysSoWithoutThePassword() throws Exception {
        final Quotas quotas = quotas(store("redis://:hunter2@127.0.0.1:" + freePort() + "/0", Duration.ofSeconds(10),
                true, 1), Map.of("requests_per_minute", "1"));

        assertThatThrownBy(() -> quotas.reset("acme")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("127.0.0.1:").hasMessageNotContaining("hunter2");
        assertThat(quotas.describe("acme")).containsEntry("usage.inflight", "unknown");
    }

    private List<Quotas> replicas(int n, String url, Map<String, String> policy, boolean reject, int hint) {
        final List<Quotas> replicas = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            replicas.add(quotas(store(url, Duration.ofSeconds(10), reject, hint), policy));
        }
        return replicas;
    }

    private RedisQuotaStore store(String url, Duration lease, boolean reject, int hint) {
        // A timeout generous for a loaded test machine; the outage tests check the bound themselves.
        final RedisQuotaStore store = new RedisQuotaStore(
                new QuotaStoreSettings(true, url, lease, reject, hint, Duration.ofMillis(250)), prefix, 1000);
        closing.add(store);
        return store;
    }

    private List<QuotaDecision> burst(List<Quotas> replicas, int calls) throws Exception {
        return burst(replicas, calls, 1);
    }

    /** {@code calls} admissions at once, spread round-robin over the replicas, none settled. */
    private List<QuotaDecision> burst(List<Quotas> replicas, int calls, int maxNewTokens) throws Exception {
        for (Quotas replica : replicas) {
            assertThat(replica.admit("warm-up", request(1)).isAdmitted()).isTrue();
        }
        final CountDownLatch go = new CountDownLatch(1);
        final List<Future<QuotaDecision>> futures = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            final Quotas replica = replicas.get(i % replicas.size());
            final Callable<QuotaDecision> admit = () -> {
                go.await();
                return replica.admit("acme", request(maxNewTokens));
            };
            futures.add(pool.submit(admit));
        }
        go.countDown();
        final List<QuotaDecision> decisions = new ArrayList<>();
        for (Future<QuotaDecision> f : futures) {
            final QuotaDecision decision = f.get(10, TimeUnit.SECONDS);
            assertThat(decision.status() == null || decision.status().getCode() != Status.Code.UNAVAILABLE).isTrue();
            decisions.add(decision);
        }
        for (Quotas replica : replicas) {
            assertThat(replica.metrics()).containsEntry("quota_redis_fallbacks", "0");
        }
        return decisions;
    }

    /** A shared usage figure; while Redis does not answer in time, none that a wait could accept. */
    private static long shared(Quotas quotas, String tenant, String key) {
        final String value = quotas.describe(tenant).get("usage." + key);
        return value.equals("unknown") ? Long.MAX_VALUE : Long.parseLong(value);
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10s").isLessThan(deadline);
            Thread.sleep(20); // polling a condition with a deadline, not waiting for an event
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** A redis-server of this test's own, without persistence, on a spare port. */
    private static final class OwnRedis implements AutoCloseable {
        private final int port;
        private Process process;

        private OwnRedis(int port) {
            this.port = port;
        }

        static OwnRedis start() throws Exception {
            final OwnRedis redis = new OwnRedis(freePort());
            redis.restart();
            return redis;
        }

        String url() {
            return "redis://127.0.0.1:" + port + "/0";
        }

        void restart() throws Exception {
            process = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            awaitTrue(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
        }

        void stop() throws InterruptedException {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            if (process != null && process.isAlive()) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
