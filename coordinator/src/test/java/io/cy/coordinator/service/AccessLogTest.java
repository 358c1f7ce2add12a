package io.cy.coordinator.service;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.util.Duration;
import io.cy.coordinator.Eventually;
import io.cy.coordinator.auth.Identity;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AccessLogTest {

    private final Logger access = (Logger) LoggerFactory.getLogger("cy.access");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    AccessLogTest() {
        lines.setContext(access.getLoggerContext());
        lines.start();
        access.addAppender(lines);
    }

    @AfterEach
    void detach() {
        access.detachAppender(lines);
    }

    @Test
    void oneLinePerCallWithValuesQuotedWhereNeeded() {
        new AccessLog().onCallEnd(summary(Status.NOT_FOUND.withDescription("model_id: 'big \"one\"' unknown"),
                "big \"one\"", 0, -1, 1_234_567, true));

        assertThat(lines.list).singleElement().extracting(ILoggingEvent::getFormattedMessage).isEqualTo(
                "method=StreamPredict api=grpc trace_id=t-1 model=\"big \\\"one\\\"\" sidecar=- status=NOT_FOUND"
                        + " error=\"model_id: 'big \\\"one\\\"' unknown\" chunks=0 ttfc_ms=- duration_ms=1.234"
                        + " peer=/127.0.0.1:5000 tenant=acme subject=- client_cancelled=true");
    }

    @Test
    void theCallerIsNamedByItsSubject() {
        final CallSummary summary = summary(Status.OK, "sim", 2, 1_000, 2_000, false);
        new AccessLog().onCallEnd(new CallSummary(summary.method(), summary.api(), summary.traceId(), "local:/tmp/c.sock",
                summary.startTime(), new Identity("uds:uid=1000", "ops", Set.of("user"),
                Identity.CredentialKind.UNIX_PEER, "gid=2000"), "ops", summary.model(), summary.adapter(),
                summary.priority(), summary.prompt(), summary.promptTokens(), summary.sidecar(), summary.status(),
                summary.chunks(), summary.bytesOut(), summary.timeToFirstChunkNanos(), summary.durationNanos(),
                summary.quotaDecision(), summary.cancelledByClient()));

        assertThat(lines.list).singleElement().extracting(ILoggingEvent::getFormattedMessage).asString()
                .endsWith(" peer=local:/tmp/c.sock tenant=ops subject=\"uds:uid=1000\"");
    }

    @Test
    void millisecondsKeepThreeDecimals() {
        assertThat(AccessLog.millis(5_000)).isEqualTo("0.005");
        assertThat(AccessLog.millis(45_000)).isEqualTo("0.045");
        assertThat(AccessLog.millis(12_345_678)).isEqualTo("12.345");
    }

    @Test
    void linesLeaveThroughABoundedQueueThatNeverBlocksTheCaller() {
        final List<AccessLogAppender> queued = new ArrayList<>();
        for (var it = access.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof AccessLogAppender appender) {
                queued.add(appender);
            }
        }
        assertThat(queued).as("logback.xml: the access log's appender").singleElement().satisfies(appender -> {
            assertThat(appender.isStarted()).isTrue();
            assertThat(appender.getQueueSize()).isBetween(2, 65_536);
            assertThat(appender.getFlushInterval().getMilliseconds()).isBetween(1L, 1_000L);
            assertThat(appender.getAppender("STDOUT")).as("written as every other line is").isNotNull();
            assertThat(appender).isSameAs(AccessLogAppender.configured());
        });
        assertThat(access.isAdditive()).as("not also written synchronously by the root logger").isFalse();
    }

    @Test
    void linesThatFindTheQueueFullAreDroppedAndCounted() throws InterruptedException {
        final CountDownLatch writing = new CountDownLatch(1);
        final CountDownLatch stdoutBack = new CountDownLatch(1);
        final List<String> written = new CopyOnWriteArrayList<>();
        // Stands for a stdout that has stopped taking lines.
        final AppenderBase<ILoggingEvent> stuck = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                writing.countDown();
                try {
                    stdoutBack.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                written.add(event.getFormattedMessage());
            }
        };
        final AccessLogAppender appender = new AccessLogAppender();
        appender.setContext(access.getLoggerContext());
        appender.setQueueSize(4);
        stuck.setContext(access.getLoggerContext());
        stuck.start();
        appender.addAppender(stuck);
        appender.start();
        try {
            appender.doAppend(event("line 0"));
            assertThat(writing.await(10, TimeUnit.SECONDS)).as("the writer took the first line").isTrue();
            for (int i = 1; i <= 4; i++) {
                appender.doAppend(event("line " + i));
            }
            assertThat(appender.dropped()).isZero();

            for (int i = 5; i <= 7; i++) {
                appender.doAppend(event("line " + i));
            }

            assertThat(appender.dropped()).isEqualTo(3);
        } finally {
            stdoutBack.countDown();
            appender.stop();
        }
        assertThat(written).containsExactly("line 0", "line 1", "line 2", "line 3", "line 4");
    }

    @Test
    void linesThatWaitTogetherGoToTheConsoleInOneWriteWithItsEncoder() throws Exception {
        final CountingStream stdout = new CountingStream();
        final PrintStream before = System.out;
        // The console appender looks System.out up on every write, as logback.xml's STDOUT does.
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        final ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        final AccessLogAppender appender = new AccessLogAppender();
        try {
            console.setContext(access.getLoggerContext());
            final PatternLayoutEncoder encoder = new PatternLayoutEncoder();
            encoder.setContext(access.getLoggerContext());
            encoder.setPattern("%logger %msg%n");
            encoder.start();
            console.setEncoder(encoder);
            console.start();
            appender.setContext(access.getLoggerContext());
            // Long enough that the lines below are all offered before the writer's next turn.
            appender.setFlushInterval(Duration.buildBySeconds(5));
            appender.addAppender(console);
            appender.start();
            // The writer's first turn comes at its start: the lines wait for its next one, and a
            // turn that raced with them would write them in as many pieces as it found.
            Eventually.await("the writer sleeping", java.time.Duration.ofSeconds(10), appender::writerSleeping);

            for (int i = 0; i < 100; i++) {
                appender.doAppend(event("line " + i));
            }
            // Stopping writes what waits, as the writer's turn would.
            appender.stop();

            // Only this test's lines: a thread another test left behind may log meanwhile.
            final List<String> written = stdout.text().lines().filter(line -> line.startsWith("cy.access line ")).toList();
            assertThat(written).hasSize(100);
            assertThat(written.get(0)).isEqualTo("cy.access line 0");
            assertThat(written.get(99)).isEqualTo("cy.access line 99");
            assertThat(stdout.writesOfTheseLines).as("writes to stdout for 100 lines").isEqualTo(1);
        } finally {
            System.setOut(before);
            console.stop();
        }
        assertThat(appender.dropped()).isZero();
    }

    @Test
    void theWriterWakesWhenHalfTheQueueIsTakenAndLinesOtherwiseWaitForTheInterval() throws Exception {
        final List<String> written = new CopyOnWriteArrayList<>();
        final CountDownLatch fourWritten = new CountDownLatch(4);
        final AppenderBase<ILoggingEvent> list = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                written.add(event.getFormattedMessage());
                fourWritten.countDown();
            }
        };
        list.setContext(access.getLoggerContext());
        list.start();
        final AccessLogAppender appender = new AccessLogAppender();
        appender.setContext(access.getLoggerContext());
        appender.setQueueSize(8);
        appender.setFlushInterval(Duration.buildBySeconds(10));
        appender.addAppender(list);
        appender.start();
        try {
            Eventually.await("the writer sleeping", java.time.Duration.ofSeconds(10), appender::writerSleeping);
            for (int i = 0; i < 3; i++) {
                appender.doAppend(event("line " + i));
            }
            assertThat(fourWritten.await(300, TimeUnit.MILLISECONDS)).as("three lines wait for the interval").isFalse();
            assertThat(written).isEmpty();

            appender.doAppend(event("line 3"));

            assertThat(fourWritten.await(5, TimeUnit.SECONDS)).as("the fourth line of eight wakes the writer").isTrue();
            assertThat(written).containsExactly("line 0", "line 1", "line 2", "line 3");
        } finally {
            appender.stop();
        }
    }

    @Test
    void aLineOnItsWayToTheQueueWhenTheAppenderStopsIsStillWritten() {
        final List<String> written = new CopyOnWriteArrayList<>();
        final AppenderBase<ILoggingEvent> list = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                written.add(event.getFormattedMessage());
            }
        };
        list.setContext(access.getLoggerContext());
        list.start();
        final AccessLogAppender appender = new AccessLogAppender();
        appender.setContext(access.getLoggerContext());
        appender.setFlushInterval(Duration.buildBySeconds(10));
        appender.addAppender(list);
        appender.start();
        appender.doAppend(event("before the stop"));

        appender.stop();
        // A caller that passed logback's started check before the stop reaches append after the
        // writer's last drain.
        appender.append(event("on its way"));

        assertThat(written).containsExactly("before the stop", "on its way");
        assertThat(appender.dropped()).isZero();
    }

    @Test
    void settingsOutsideTheirRangeKeepTheAppenderStoppedWithAMessage() {
        final AccessLogAppender appender = new AccessLogAppender();
        appender.setContext(access.getLoggerContext());
        appender.setQueueSize(1);
        appender.start();

        assertThat(appender.isStarted()).isFalse();
        assertThat(access.getLoggerContext().getStatusManager().getCopyOfStatusList())
                .anySatisfy(status -> assertThat(status.getMessage()).isEqualTo("queueSize: 1 (expected: 2..1048576)"));

        appender.setQueueSize(8);
        appender.setFlushInterval(Duration.buildBySeconds(11));
        appender.start();

        assertThat(appender.isStarted()).isFalse();
        assertThat(access.getLoggerContext().getStatusManager().getCopyOfStatusList())
                .anySatisfy(status -> assertThat(status.getMessage())
                        .isEqualTo("flushInterval: 11 seconds (expected: 1 millisecond..10 seconds)"));
    }

    /** Counts the writes of the test's lines that reach it, as a file descriptor would see them. */
    private static final class CountingStream extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        volatile int writesOfTheseLines;

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if (new String(b, off, len, StandardCharsets.UTF_8).contains("cy.access line ")) {
                writesOfTheseLines++;
            }
            bytes.write(b, off, len);
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    private ILoggingEvent event(String message) {
        return new LoggingEvent(AccessLogTest.class.getName(), access, Level.INFO, message, null, null);
    }

    private static CallSummary summary(Status status, String model, long chunks, long ttfcNanos, long durationNanos,
                                       boolean cancelled) {
        return new CallSummary("StreamPredict", "grpc", "t-1", "/127.0.0.1:5000", Instant.EPOCH, null, "acme",
                model, "", 0, "", 0, "", status, chunks, 0, ttfcNanos, durationNanos, "", cancelled);
    }
}
