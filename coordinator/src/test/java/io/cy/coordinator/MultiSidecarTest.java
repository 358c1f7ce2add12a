package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static io.cy.coordinator.HealthAndControlTest.health;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.ControlMessage;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: two sidecars; calls spread across both; one killed → all calls succeed on the
 * other; draining via Control moves new calls away.
 */
class MultiSidecarTest {

    private static final int CHUNKS = 16;

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;
    private SimulatedSidecar first;
    private SimulatedSidecar second;

    @BeforeEach
    void startTwoSidecars() throws Exception {
        start("");
    }

    private void start(String yaml) throws Exception {
        if (stack != null) {
            stack.close();
        }
        stack = TestStack.start(dir, 2, sim -> { }, yaml, Map.of());
        channel = stack.coordinatorChannel();
        first = stack.sims.get(0);
        second = stack.sims.get(1);
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    /** Makes {@code n} calls one after the other; each must deliver all its chunks. */
    private List<CallSummary> callSequentially(int n) throws Exception {
        final List<CallSummary> summaries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final Result result = call(channel, request(CHUNKS));
            assertThat(result.status().getCode()).as("call %d: %s", i, result.status()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).as("call %d", i).hasSize(CHUNKS);
            assertThat(result.responses().get(result.responses().size() - 1).getEndOfStream()).isTrue();
            summaries.add(stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS));
        }
        return summaries;
    }

    @Test
    void sequentialCallsSpreadEvenlyOverBothSidecars() throws Exception {
        final List<CallSummary> summaries = callSequentially(40);

        assertThat(first.stats().callsSucceeded() + second.stats().callsSucceeded()).isEqualTo(40);
        assertThat(first.stats().callsStarted()).isGreaterThanOrEqualTo(10);
        assertThat(second.stats().callsStarted()).isGreaterThanOrEqualTo(10);
        assertThat(summaries).extracting(CallSummary::sidecar).containsOnly(first.target(), second.target());
    }

    @Test
    void whenOneSidecarIsKilledAllCallsSucceedOnTheOther() throws Exception {
        killOneAndCallTheOther();
    }

    @Test
    void withOneEventLoopThreadTooAllCallsSucceedOnTheOther() throws Exception {
        // What a one-CPU container gets by default (event_loop_threads: 0 = one per core): the
        // client-facing call and the sidecar connection attempt then always share a thread.
        start("server: {event_loop_threads: 1}");

        killOneAndCallTheOther();
    }

    private void killOneAndCallTheOther() throws Exception {
        // given both sidecars have served calls, so the coordinator holds a connection to each
        callSequentially(4);
        assertThat(first.stats().callsStarted()).isPositive();
        assertThat(second.stats().callsStarted()).isPositive();
        final long secondBefore = second.stats().callsSucceeded();

        // when one is killed
        first.close();

        // then every call succeeds on the other
        final List<CallSummary> summaries = callSequentially(20);
        assertThat(second.stats().callsSucceeded() - secondBefore).isEqualTo(20);
        assertThat(summaries).extracting(CallSummary::sidecar).containsOnly(second.target());
        // and the dead one is out of rotation
        assertThat(control(channel, "list_sidecars", Map.of()).getPayloadMap())
                .containsEntry("sidecar.0.healthy", "false")
                .containsEntry("sidecar.1.healthy", "true");
        assertThat(health(channel).getHealthy()).isTrue();
        assertThat(health(channel).getMetricsMap()).containsEntry("sidecars_healthy", "1/2");
    }

    @Test
    void drainingViaControlMovesNewCallsAwayAndUndrainingBringsThemBack() throws Exception {
        callSequentially(4);

        // when the first sidecar is drained
        final ControlMessage drained = control(channel, "drain_sidecar", Map.of("addr", first.target()));
        assertThat(drained.getPayloadMap()).containsEntry("status", "ok");
        final long firstBefore = first.stats().callsStarted();
        final long secondBefore = second.stats().callsStarted();

        // then all new calls go to the other one
        callSequentially(20);
        assertThat(first.stats().callsStarted()).isEqualTo(firstBefore);
        assertThat(second.stats().callsStarted() - secondBefore).isEqualTo(20);

        // when it is undrained, calls reach it again
        final ControlMessage undrained = control(channel, "undrain_sidecar", Map.of("addr", first.target()));
        assertThat(undrained.getPayloadMap()).containsEntry("status", "ok");
        callSequentially(20);
        assertThat(first.stats().callsStarted() - firstBefore).isGreaterThanOrEqualTo(5);
    }

    @Test
    void drainingLetsCallsAlreadyOnTheSidecarFinish() throws Exception {
        // given a slow call in flight on each sidecar
        final List<InFlightStream> streams = new ArrayList<>();
        streams.add(InFlightStream.start(channel, request(10, Map.of("sim.gap_ms", "30")), 1));
        Eventually.await("the first call at a sidecar", TIMEOUT,
                () -> first.stats().callsStarted() + second.stats().callsStarted() == 1);
        streams.add(InFlightStream.start(channel, request(10, Map.of("sim.gap_ms", "30")), 1));
        assertThat(first.stats().awaitCallsStarted(1, TIMEOUT)).isTrue();
        assertThat(second.stats().awaitCallsStarted(1, TIMEOUT)).isTrue();

        // when the first one is drained
        control(channel, "drain_sidecar", Map.of("addr", first.target()));

        // then its open call still completes
        for (InFlightStream stream : streams) {
            assertThat(stream.done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
            assertThat(stream.chunks()).hasSize(10);
        }
        assertThat(first.stats().callsSucceeded()).isEqualTo(1);
    }

    @Test
    void concurrentCallsSpreadOverBothSidecars() throws Exception {
        final List<InFlightStream> streams = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            streams.add(InFlightStream.start(channel, request(10, Map.of("sim.gap_ms", "20")), 1));
        }

        for (InFlightStream stream : streams) {
            assertThat(stream.done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
            assertThat(stream.chunks()).hasSize(10);
        }
        assertThat(first.stats().callsSucceeded() + second.stats().callsSucceeded()).isEqualTo(16);
        assertThat(first.stats().maxInflight()).isPositive();
        assertThat(second.stats().maxInflight()).isPositive();
        assertThat(first.stats().callsStarted()).isGreaterThanOrEqualTo(4);
        assertThat(second.stats().callsStarted()).isGreaterThanOrEqualTo(4);
    }
}
