package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static io.cy.coordinator.HealthAndControlTest.health;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outlier ejection over the wire: simulated sidecars that fail every call are ejected after the
 * configured run of failures, stay out for the ejection time, come back by themselves, and no more
 * than the percent cap are out at once.
 */
class OutlierEjectionTest {

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @AfterEach
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** {@code sidecars} sims, the first {@code failing} of which end every call as {@code failing} says. */
    private void start(int sidecars, int failing, Consumer<SimConfig.Builder> fault, String yaml) throws Exception {
        final AtomicInteger index = new AtomicInteger();
        stack = TestStack.start(dir, sidecars, sim -> {
            if (index.getAndIncrement() < failing) {
                fault.accept(sim);
            }
        }, yaml, Map.of());
        channel = stack.coordinatorChannel();
    }

    private static Consumer<SimConfig.Builder> failsWith(Status.Code code) {
        return sim -> sim.failStatus(code).failAfter(0);
    }

    private Map<String, String> sidecars() {
        return control(channel, "list_sidecars", Map.of()).getPayloadMap();
    }

    private long started(int sim) {
        return stack.sims.get(sim).stats().callsStarted();
    }

    @Test
    void aSidecarIsEjectedAfterItsRunOfFailuresAndComesBackWhenTheTimeIsUp() throws Exception {
        start(2, 1, failsWith(Status.Code.INTERNAL), """
                sidecars:
                  outlier: {consecutive_failures: 3, base_ejection_time: 2s, max_ejection_time: 2s}
                """);

        // given calls until the failing sidecar had three
        for (int i = 0; i < 20 && started(0) < 3; i++) {
            call(channel, request(2));
        }
        assertThat(started(0)).isEqualTo(3);
        final Instant ejectedAt = Instant.now();

        // then it is ejected, and says so
        final Map<String, String> listed = sidecars();
        assertThat(listed).containsEntry("sidecar.0.ejected", "true")
                .containsEntry("sidecar.0.reason", "3 consecutive failures: INTERNAL")
                .containsEntry("sidecar.0.backend", "default")
                .containsEntry("sidecar.1.ejected", "false")
                .containsEntry("sidecar.1.ejected_until", "")
                .containsEntry("sidecar.1.reason", "");
        assertThat(Instant.parse(listed.get("sidecar.0.ejected_until")))
                .isBetween(ejectedAt.plusMillis(500), ejectedAt.plusSeconds(3));
        assertThat(health(channel).getMetricsMap()).containsEntry("sidecars_ejected", "1");

        // and new calls all go to the other one
        for (int i = 0; i < 4; i++) {
            assertThat(call(channel, request(2)).status().getCode()).isEqualTo(Status.Code.OK);
        }
        assertThat(started(0)).isEqualTo(3);

        // when its time is up it is back, without anything to bring it back
        Eventually.await("the ejection to end", Duration.ofSeconds(10),
                () -> "false".equals(sidecars().get("sidecar.0.ejected")));
        assertThat(sidecars()).containsEntry("sidecar.0.ejected_until", "").containsEntry("sidecar.0.reason", "");
        assertThat(health(channel).getMetricsMap()).containsEntry("sidecars_ejected", "0");
        for (int i = 0; i < 4 && started(0) == 3; i++) {
            call(channel, request(2));
        }
        assertThat(started(0)).as("calls reach it again").isEqualTo(4);
    }

    @Test
    void thePercentCapHolds() throws Exception {
        start(4, 3, failsWith(Status.Code.INTERNAL), """
                sidecars:
                  outlier: {consecutive_failures: 2, base_ejection_time: 60s, max_ejection_percent: 50}
                """);

        for (int i = 0; i < 40; i++) {
            call(channel, request(2));
        }

        final Map<String, String> listed = sidecars();
        int ejected = 0;
        for (int i = 0; i < 4; i++) {
            if ("true".equals(listed.get("sidecar." + i + ".ejected"))) {
                ejected++;
            }
        }
        assertThat(ejected).as("%s", listed).isEqualTo(2);
        assertThat(listed).containsEntry("sidecar.3.ejected", "false");
        assertThat(health(channel).getMetricsMap()).containsEntry("sidecars_ejected", "2");
        // the failing sidecar left in rotation keeps getting calls, so the cap really held it
        assertThat(started(0) + started(1) + started(2)).isGreaterThan(2 * 2 + 2);
    }

    @Test
    void invalidArgumentAndTheClientsOwnDeadlineDoNotCount() throws Exception {
        start(2, 2, sim -> { }, """
                sidecars:
                  outlier: {consecutive_failures: 2, base_ejection_time: 60s, max_ejection_percent: 100}
                """);

        for (int i = 0; i < 6; i++) {
            final Result refused = call(channel, request(2, Map.of("sim.fail", "INVALID_ARGUMENT")));
            assertThat(refused.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        }
        for (int i = 0; i < 4; i++) {
            final Result late = call(channel, request(2, Map.of("sim.stall_after", "0")), new Metadata(),
                    Duration.ofMillis(200));
            assertThat(late.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        }

        assertThat(sidecars()).containsEntry("sidecar.0.ejected", "false").containsEntry("sidecar.1.ejected", "false");
        assertThat(started(0)).isGreaterThanOrEqualTo(2);
        assertThat(started(1)).isGreaterThanOrEqualTo(2);
    }

    @Test
    void unavailableFromTheSidecarCountsAndASuccessResetsTheRun() throws Exception {
        start(1, 0, sim -> { }, """
                sidecars:
                  outlier: {consecutive_failures: 3, base_ejection_time: 60s, max_ejection_percent: 100}
                """);
        final Map<String, String> unavailable = Map.of("sim.fail", "UNAVAILABLE");

        call(channel, request(2, unavailable));
        call(channel, request(2, unavailable));
        call(channel, request(2));
        call(channel, request(2, unavailable));
        call(channel, request(2, unavailable));
        assertThat(sidecars()).containsEntry("sidecar.0.ejected", "false");

        call(channel, request(2, unavailable));
        assertThat(sidecars()).containsEntry("sidecar.0.ejected", "true")
                .containsEntry("sidecar.0.reason", "3 consecutive failures: UNAVAILABLE");
        // with every sidecar of the backend ejected, a call is refused without reaching it
        final long before = started(0);
        final Result refused = call(channel, request(2));
        assertThat(refused.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(refused.status().getDescription())
                .contains("ejected after 3 consecutive failures: UNAVAILABLE");
        assertThat(started(0)).isEqualTo(before);
    }
}
