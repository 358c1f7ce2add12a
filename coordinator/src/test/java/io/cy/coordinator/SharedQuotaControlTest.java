package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control {@code quota_get} and {@code quota_reset} with {@code quota.store: redis}: answered
 * when Redis has answered, so a Redis that stalls holds up no other call on the event loop of
 * the Control call; past {@code quota.redis.timeout} the answer says what was not known or done.
 */
class SharedQuotaControlTest {

    /** Long enough that a Control command waiting on its event loop would visibly hold up the pings. */
    private static final int TIMEOUT_MS = 3000;

    @TempDir
    Path dir;

    private Coordinator coordinator;
    private TestStack sims;
    private RedisServerProcess redis;

    @AfterEach
    void stop() throws Exception {
        if (coordinator != null) {
            coordinator.close();
        }
        if (sims != null) {
            sims.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void quotaCommandsWaitingForAStalledRedisHoldUpNoOtherCallOnTheirConnection() throws Exception {
        redis = RedisServerProcess.start();
        final int port = redis.port();
        sims = TestStack.start(dir, 1, sim -> { }, "", Map.of());
        final Path file = dir.resolve("coordinator.yaml");
        Files.writeString(file, """
                sidecars:
                  addresses: ["unix://%s/sidecar-0.sock"]
                quota:
                  store: redis
                  redis: {url: 'redis://127.0.0.1:%d/0', timeout: %dms}
                  tenants:
                    acme: {requests_per_minute: 1000}
                """.formatted(dir, port, TIMEOUT_MS));
        final Map<String, String> env = TestStack.PLAIN_ENV;
        coordinator = TestStack.startFromFile(file, env);
        final ManagedChannel channel = sims.channel(coordinator.grpcEndpoint());
        final String tenant = "acme";
        assertThat(command(channel, "quota_get", Map.of("tenant", tenant)))
                .containsEntry("status", "ok").containsEntry("usage.requests_in_window", "0");

        redis.stall(); // connected, and answering nothing
        final Future<ControlMessage> reset = controlFuture(channel, "quota_reset", tenant);
        final Future<ControlMessage> get = controlFuture(channel, "quota_get", tenant);
        // On the same connection, so on the same event loop: answered while both wait for Redis.
        for (int i = 0; i < 3; i++) {
            assertThat(command(channel, "ping", Map.of())).containsEntry("status", "ok");
            final Result call = TestStack.call(channel, TestStack.request(2), new Metadata(), null);
            assertThat(call.status().isOk()).as(call.status().toString()).isTrue();
        }
        assertThat(reset).isNotDone();
        assertThat(get).isNotDone();

        final Map<String, String> notReset = reset.get(10, TimeUnit.SECONDS).getPayloadMap();
        assertThat(notReset).containsEntry("status", "error");
        assertThat(notReset.get("message")).contains("Redis at 127.0.0.1:" + port)
                .contains("did not reset tenant " + tenant).contains("no answer within " + TIMEOUT_MS + "ms");
        assertThat(get.get(10, TimeUnit.SECONDS).getPayloadMap()).containsEntry("status", "ok")
                .containsEntry("limit.requests_per_minute", "1000")
                .containsEntry("usage.requests_in_window", "unknown");

        redis.resume();
        assertThat(command(channel, "quota_reset", Map.of("tenant", tenant)))
                .containsEntry("status", "ok").containsEntry("message", "usage of tenant " + tenant + " reset");
    }

    private static Future<ControlMessage> controlFuture(ManagedChannel channel, String command, String tenant) {
        return AiInferenceGrpc.newFutureStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setCommand(command).setTraceId("trace-" + UUID.randomUUID())
                        .putPayload("tenant", tenant).build());
    }

    private static Map<String, String> command(ManagedChannel channel, String name, Map<String, String> payload) {
        return control(channel, "trace-" + name, name, payload, new Metadata()).getPayloadMap();
    }
}
