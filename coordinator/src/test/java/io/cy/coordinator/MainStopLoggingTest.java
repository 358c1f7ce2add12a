package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.util.Duration;
import io.cy.coordinator.service.AccessLogAppender;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** At exit the access log's waiting lines are written while stdout's appender still takes them. */
class MainStopLoggingTest {

    @Test
    void theAccessLogIsStoppedBeforeTheAppenderItWritesTo() throws Exception {
        // As logback.xml sets it up, in a context of its own: STDOUT on the root logger, the
        // access log's appender on cy.access writing to it.
        final LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter());
        final ListAppender<ILoggingEvent> stdout = new ListAppender<>();
        stdout.setName("STDOUT");
        stdout.setContext(context);
        stdout.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(stdout);
        final AccessLogAppender accessLog = new AccessLogAppender();
        accessLog.setContext(context);
        // Longer than the test: the line waits until the access log is stopped.
        accessLog.setFlushInterval(Duration.buildBySeconds(10));
        accessLog.addAppender(stdout);
        final Set<Thread> writersBefore = writers();
        accessLog.start();
        assertThat(accessLog.isStarted()).isTrue();
        final Logger access = context.getLogger("cy.access");
        access.setAdditive(false);
        access.addAppender(accessLog);
        // Its writer's first turn, at its start, is over: from here on it sleeps for the interval.
        Eventually.await("the access log's writer asleep", java.time.Duration.ofSeconds(10), () -> {
            final Set<Thread> started = writers();
            started.removeAll(writersBefore);
            return started.size() == 1 && started.iterator().next().getState() == Thread.State.TIMED_WAITING;
        });

        access.info("method=StreamPredict trace_id=t-1");
        assertThat(stdout.list).as("waiting in the queue").isEmpty();

        Main.stopLogging(context);

        assertThat(stdout.list).extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly("method=StreamPredict trace_id=t-1");
        assertThat(accessLog.isStarted()).isFalse();
        assertThat(stdout.isStarted()).isFalse();
    }

    private static Set<Thread> writers() {
        final Set<Thread> writers = new java.util.HashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().equals("cy-access-log")) {
                writers.add(thread);
            }
        }
        return writers;
    }
}
