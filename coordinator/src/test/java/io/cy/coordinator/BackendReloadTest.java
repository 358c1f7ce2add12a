package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reload_config} with backends added, removed and moved: a backend that joins serves at
 * once, one that leaves drains (its call in flight ends normally) and its sidecar is closed once
 * idle, and {@code routes_rollback} brings the old membership back.
 */
class BackendReloadTest {

    private static final Metadata.Key<String> CY_BACKEND = Metadata.Key.of("cy-backend", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    private TestStack stack;
    private Path configFile;
    private Coordinator reloadable;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        final List<List<String>> models = List.of(List.of("a"), List.of("b"), List.of("c"));
        final AtomicInteger index = new AtomicInteger();
        // Tokens 20 ms apart: a call of 50 tokens stays in flight for a second.
        stack = TestStack.start(dir, 3, sim -> sim.models(models.get(index.getAndIncrement()))
                .tokenGap(Duration.ofMillis(20)), "", Map.of());
        configFile = dir.resolve("coordinator.yaml");
        writeConfig("""
                backends:
                  - {id: one, addresses: ["unix://%1$s/sidecar-0.sock"], models: [{id: a}]}
                  - {id: two, addresses: ["unix://%1$s/sidecar-1.sock"], models: [{id: b}]}
                routes:
                  aliases:
                    default: {backend: one, model: a}
                """);
        final Map<String, String> env = Map.of("COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                "COORDINATOR_HTTP_ADDR", "127.0.0.1:0", "CY_AUTH_MODE", "none", "CY_AUDIT_ENABLED", "false",
                "CY_ADMIN_ADDR", "", "CY_SIDECARS_HEALTH_INTERVAL", "100ms", "CY_SIDECARS_HEALTH_TIMEOUT", "100ms");
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
        Files.writeString(configFile, yaml.formatted(dir));
    }

    private Map<String, String> command(String name, Map<String, String> payload) {
        return control(channel, "trace-" + name, name, payload, new Metadata()).getPayloadMap();
    }

    private Result call(String model, int tokens) throws Exception {
        final StreamPredictRequest request = request(tokens).toBuilder().setModelId(model).build();
        return TestStack.call(channel, request, new Metadata(), null);
    }

    @Test
    void aBackendThatJoinsServesAndOneThatLeavesDrainsItsCallsFirst() throws Exception {
        assertThat(call("c", 2).status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        final InFlightStream onTwo = InFlightStream.start(channel,
                request(50).toBuilder().setModelId("two/b").build(), 2);
        assertThat(onTwo.progress.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        writeConfig("""
                backends:
                  - {id: one, addresses: ["unix://%1$s/sidecar-0.sock"], models: [{id: a}]}
                  - {id: three, addresses: ["unix://%1$s/sidecar-2.sock"], models: [{id: c}]}
                routes:
                  aliases:
                    default: {backend: one, model: a}
                """);
        final Map<String, String> reloaded = command("reload_config", Map.of());
        assertThat(reloaded.toString()).contains("backends and routes reloaded");

        final Result onThree = call("c", 2);
        assertThat(onThree.status().getCode()).as(onThree.status().toString()).isEqualTo(Status.Code.OK);
        assertThat(onThree.headers().get(CY_BACKEND)).isEqualTo("three");
        final Result gone = call("two/b", 2);
        assertThat(gone.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(gone.status().getDescription()).contains("three");

        // The call already on the sidecar that left ends as it would have.
        assertThat(onTwo.done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
        assertThat(onTwo.chunks()).hasSize(50);
        Eventually.await("the idle sidecar that left is closed", TIMEOUT, () -> reloadable.sidecars().retiringCount() == 0);
        assertThat(reloadable.sidecars().all()).extracting(s -> s.endpoint().toString())
                .containsExactly(stack.sims.get(0).endpoint().toString(), stack.sims.get(2).endpoint().toString());

        // Rollback brings backend two back, opened again.
        assertThat(command("routes_rollback", Map.of()).toString()).contains("version");
        final Result back = call("two/b", 2);
        assertThat(back.status().getCode()).as(back.status().toString()).isEqualTo(Status.Code.OK);
        assertThat(back.headers().get(CY_BACKEND)).isEqualTo("two");
    }
}
