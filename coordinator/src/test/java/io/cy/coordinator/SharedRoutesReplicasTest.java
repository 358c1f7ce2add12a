package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Coordinators wired as in production with {@code routes.store: redis}, each reading a
 * configuration file of its own: {@code reload_config} on one reaches the others through Redis,
 * and a route change that waits for Redis leaves its event loop serving other calls.
 */
class SharedRoutesReplicasTest {

    private static final Duration WITHIN = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private final List<Coordinator> coordinators = new ArrayList<>();
    private TestStack sims;

    @AfterEach
    void stop() {
        coordinators.forEach(Coordinator::close);
        if (sims != null) {
            sims.close();
        }
    }

    private static String config(Path dir, String redisUrl, String prefix, String model) {
        return """
                backends:
                  - {id: one, addresses: ["unix://%1$s/sidecar-0.sock"], models: [{id: a}, {id: b}]}
                routes:
                  store: redis
                  redis: {url: '%2$s', key_prefix: '%3$s'}
                  aliases:
                    default: {backend: one, model: %4$s}
                """.formatted(dir, redisUrl, prefix, model);
    }

    /** A coordinator reading {@code file}, on the sidecars of {@link #sims}. */
    private ManagedChannel replica(Path file) throws IOException {
        final Map<String, String> env = TestStack.PLAIN_ENV;
        final Coordinator coordinator = TestStack.startFromFile(file, env);
        coordinators.add(coordinator);
        return sims.channel(coordinator.grpcEndpoint());
    }

    private static Map<String, String> command(ManagedChannel channel, String name, Map<String, String> payload) {
        return control(channel, "trace-" + name, name, payload, new Metadata()).getPayloadMap();
    }

    /** A call to the alias {@code default}, which the routes send to model a or b. */
    private static StreamPredictRequest toDefault() {
        return TestStack.request(2).toBuilder().setModelId("").build();
    }

    private static boolean routesTo(ManagedChannel channel, String model) {
        return command(channel, "routes_get", Map.of()).get("routes").contains("\"model\":\"" + model + "\"");
    }

    @Test
    void reloadConfigOnOneReplicaWritesTheFileRoutesForEveryReplica() throws Exception {
        sims = TestStack.start(dir, 1, sim -> sim.models(List.of("a", "b")), "", Map.of());
        final String prefix = "cy-test:" + UUID.randomUUID() + ":routes:";
        final Path fileA = dir.resolve("a.yaml");
        final Path fileB = dir.resolve("b.yaml");
        Files.writeString(fileA, config(dir, "redis://127.0.0.1:6379/0", prefix, "a"));
        Files.writeString(fileB, config(dir, "redis://127.0.0.1:6379/0", prefix, "a"));
        final ManagedChannel a = replica(fileA);
        final ManagedChannel b = replica(fileB);
        assertThat(command(b, "routes_get", Map.of())).containsEntry("version", "1");

        Files.writeString(fileA, config(dir, "redis://127.0.0.1:6379/0", prefix, "b"));
        final Map<String, String> reloaded = command(a, "reload_config", Map.of());

        assertThat(reloaded).containsEntry("status", "ok");
        assertThat(reloaded.get("message")).contains("routes version 1 -> 2, written to the shared routes");
        Eventually.await("replica b on version 2, routing to b", WITHIN,
                () -> command(b, "routes_get", Map.of()).get("version").equals("2") && routesTo(b, "b"));
        final Result onB = TestStack.call(b, toDefault(), new Metadata(), null);
        assertThat(onB.status().isOk()).as(onB.status().toString()).isTrue();

        // b's own file still says model a: its reload writes that back, on top of version 2.
        assertThat(command(b, "reload_config", Map.of()).get("message"))
                .contains("routes version 2 -> 3, written to the shared routes");
        Eventually.await("replica a on version 3, routing to a", WITHIN,
                () -> command(a, "routes_get", Map.of()).get("version").equals("3") && routesTo(a, "a"));
    }

    @Test
    void aRouteChangeWaitingForAStalledRedisHoldsUpNoOtherCallOnItsConnection() throws Exception {
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            final int port = redis.port();
            sims = TestStack.start(dir, 1, sim -> sim.models(List.of("a", "b")), "", Map.of());
            final Path file = dir.resolve("a.yaml");
            Files.writeString(file, config(dir, "redis://127.0.0.1:" + port + "/0", "cy-test:routes:", "a"));
            final ManagedChannel channel = replica(file);
            assertThat(command(channel, "routes_get", Map.of())).containsEntry("version", "1");
            redis.stall(); // connected, and answering nothing

            final Future<ControlMessage> change = AiInferenceGrpc.newFutureStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .control(ControlMessage.newBuilder().setCommand("routes_set")
                            .putPayload("routes", "{aliases: {default: {backend: one, model: b}}}").build());
            // On the same connection, so the same event loop: answered while the change waits.
            for (int i = 0; i < 3; i++) {
                assertThat(command(channel, "ping", Map.of())).containsEntry("status", "ok");
                final Result call = TestStack.call(channel, toDefault(), new Metadata(), null);
                assertThat(call.status().isOk()).as(call.status().toString()).isTrue();
            }
            assertThat(change).isNotDone();

            final Map<String, String> refused = change.get(10, TimeUnit.SECONDS).getPayloadMap();
            assertThat(refused).containsEntry("status", "error").containsEntry("version", "1");
            assertThat(refused.get("message")).contains("Redis at 127.0.0.1:" + port).contains("routes not changed");
            assertThat(command(channel, "routes_get", Map.of())).containsEntry("version", "1");
            assertThat(routesTo(channel, "a")).isTrue();
        }
    }
}
