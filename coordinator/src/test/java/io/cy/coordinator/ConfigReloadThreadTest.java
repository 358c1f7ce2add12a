package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reload_config} reads the configuration on a thread of its own: a slow read (a file on a
 * stalled disk, here a latch) holds up no other call on the event loop that took the command,
 * and a second reload while one runs is refused at once, naming why.
 */
class ConfigReloadThreadTest {

    @TempDir
    Path dir;

    private Coordinator coordinator;
    private TestStack sims;

    @AfterEach
    void stop() {
        if (coordinator != null) {
            coordinator.close();
        }
        if (sims != null) {
            sims.close();
        }
    }

    @Test
    void aSlowReloadHoldsUpNoOtherCallAndASecondOneIsRefusedMeanwhile() throws Exception {
        sims = TestStack.start(dir, 1, sim -> { }, "", Map.of());
        final Path file = dir.resolve("coordinator.yaml");
        Files.writeString(file, "sidecars:\n  addresses: [\"unix://" + dir + "/sidecar-0.sock\"]\n");
        final Map<String, String> env = TestStack.PLAIN_ENV;
        final CountDownLatch reading = new CountDownLatch(1);
        final CountDownLatch readMayEnd = new CountDownLatch(1);
        final Supplier<CoordinatorConfig> slowSource = () -> {
            reading.countDown();
            try {
                readMayEnd.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConfigLoader.load(file, env).config();
        };
        coordinator = Coordinator.start(ConfigLoader.load(file, env).config(), summary -> { }, slowSource);
        final ManagedChannel channel = sims.channel(coordinator.grpcEndpoint());

        final Future<ControlMessage> reload = AiInferenceGrpc.newFutureStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setCommand("reload_config").build());
        assertThat(reading.await(10, TimeUnit.SECONDS)).as("the reload started reading").isTrue();
        // On the same connection, so on the same event loop: answered while the reload reads.
        assertThat(control(channel, "trace-ping", "ping", Map.of(), new Metadata()).getPayloadMap())
                .containsEntry("status", "ok");
        final Result call = TestStack.call(channel, TestStack.request(2), new Metadata(), null);
        assertThat(call.status().isOk()).as(call.status().toString()).isTrue();
        final Map<String, String> second = control(channel, "trace-second", "reload_config", Map.of(), new Metadata())
                .getPayloadMap();
        assertThat(second).containsEntry("status", "error");
        assertThat(second.get("message")).isEqualTo("configuration not reloaded: reload_config: another reload is"
                + " still running (expected: one at a time; ask again once it answered)");
        assertThat(reload).isNotDone();

        readMayEnd.countDown();
        final Map<String, String> first = reload.get(10, TimeUnit.SECONDS).getPayloadMap();
        assertThat(first).containsEntry("status", "ok");
        assertThat(first.get("message")).isEqualTo("quota limits reloaded; other settings take effect on restart");
        // The first one answered: the next is taken.
        final Map<String, String> third = control(channel, "trace-third", "reload_config", Map.of(), new Metadata())
                .getPayloadMap();
        assertThat(third).containsEntry("status", "ok");
    }
}
