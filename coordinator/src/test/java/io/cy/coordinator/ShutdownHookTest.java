package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** What the process does on SIGTERM, before, during and after startup. */
class ShutdownHookTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final List<String> events = new CopyOnWriteArrayList<>();

    @Test
    void afterStartupTheCoordinatorShutsDownAndThenTheLogIsFlushed() {
        final ShutdownHook hook = new ShutdownHook(TIMEOUT, () -> events.add("log flushed"));
        hook.started(() -> events.add("coordinator shut down"));

        hook.run();

        assertThat(events).containsExactly("coordinator shut down", "log flushed");
    }

    @Test
    void aSignalDuringStartupWaitsForStartupAndThenShutsDownWhatStarted() throws Exception {
        final ShutdownHook hook = new ShutdownHook(TIMEOUT, () -> events.add("log flushed"));
        final Thread signal = new Thread(hook::run, "signal");

        // given: the signal arrives while the coordinator is still starting
        signal.start();
        Eventually.await("the hook waits for startup", TIMEOUT,
                () -> signal.getState() == Thread.State.TIMED_WAITING);
        assertThat(events).isEmpty();

        // when: startup ends
        hook.started(() -> events.add("coordinator shut down"));

        // then: what started is stopped before the process may exit
        signal.join(TIMEOUT.toMillis());
        assertThat(signal.isAlive()).isFalse();
        assertThat(events).containsExactly("coordinator shut down", "log flushed");
    }

    @Test
    void afterAFailedStartupThereIsNothingToShutDown() {
        final ShutdownHook hook = new ShutdownHook(TIMEOUT, () -> events.add("log flushed"));
        hook.startFailed();

        hook.run();

        assertThat(events).containsExactly("log flushed");
    }

    @Test
    void aStartupThatHangsDoesNotKeepTheProcessFromExiting() {
        final ShutdownHook hook = new ShutdownHook(Duration.ofMillis(50), () -> events.add("log flushed"));

        hook.run();

        assertThat(events).containsExactly("log flushed");
    }

    @Test
    void aFailingShutdownStillFlushesTheLog() {
        final ShutdownHook hook = new ShutdownHook(TIMEOUT, () -> events.add("log flushed"));
        hook.started(() -> {
            throw new IllegalStateException("boom");
        });

        hook.run();

        assertThat(events).containsExactly("log flushed");
    }
}
