package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two coordinators wired as in production with {@code quota.store: redis}, sharing the Redis at
 * 127.0.0.1:6379 (a tenant of this test's own keeps its keys apart): calls over gRPC to either
 * count against one limit.
 */
class SharedQuotaReplicasTest {

    @TempDir
    Path dir;

    @Test
    void twoReplicasAdmitTheTenantsRequestsPerMinuteOnceBetweenThem() throws Exception {
        final String tenant = "replicas-" + UUID.randomUUID();
        final String yaml = "quota: {store: redis, redis: {url: 'redis://127.0.0.1:6379/0', timeout: 250ms},"
                + " tenants: {'" + tenant + "': {requests_per_minute: 5}}}";
        try (TestStack first = TestStack.start(Files.createDirectory(dir.resolve("a")), 1, sim -> { }, yaml, Map.of());
             TestStack second = TestStack.start(Files.createDirectory(dir.resolve("b")), 1, sim -> { }, yaml, Map.of())) {
            final List<Result> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                final TestStack replica = i % 2 == 0 ? first : second;
                results.add(QuotaCalls.call(replica.coordinatorChannel(), request(tenant, 4)));
            }

            assertThat(results.stream().filter(r -> r.status().isOk())).hasSize(5);
            assertThat(results.subList(5, 8)).allSatisfy(r -> {
                assertThat(r.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(r.status().getDescription()).isEqualTo("tenant " + tenant + ": 6 requests/min (limit 5)");
            });
            assertThat(QuotaCalls.quota(second.coordinatorChannel(), tenant))
                    .containsEntry("usage.store", "redis")
                    .containsEntry("usage.inflight", "0");
            assertThat(QuotaCalls.usage(first.coordinatorChannel(), tenant, "requests_in_window")).isBetween(4L, 5L);
        }
    }

    @Test
    void aCallWaitingForAStalledRedisHoldsUpNoOtherCallOnItsConnection() throws Exception {
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            final int port = redis.port();
            final String yaml = "quota: {store: redis, redis: {url: 'redis://127.0.0.1:" + port + "/0', timeout: 3s,"
                    + " on_unavailable: reject}, tenants: {limited: {requests_per_minute: 100}}}";
            try (TestStack stack = TestStack.start(dir, 1, sim -> { }, yaml, Map.of())) {
                final ManagedChannel channel = stack.coordinatorChannel();
                assertThat(QuotaCalls.call(channel, request("limited", 2)).status().isOk()).isTrue();
                redis.stall(); // connected, and answering nothing

                final CompletableFuture<Result> waiting = CompletableFuture.supplyAsync(() -> {
                    try {
                        return QuotaCalls.call(channel, request("limited", 2));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                // Calls of a tenant without limits, on the same connection and so the same event loop.
                for (int i = 0; i < 5; i++) {
                    assertThat(QuotaCalls.call(channel, request("free", 2)).status().isOk()).isTrue();
                }
                assertThat(waiting).isNotDone();

                final Result refused = waiting.get(10, TimeUnit.SECONDS);
                assertThat(refused.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(refused.status().getDescription()).isEqualTo("quota store unavailable, tenant limited not admitted");
            }
        }
    }
}
