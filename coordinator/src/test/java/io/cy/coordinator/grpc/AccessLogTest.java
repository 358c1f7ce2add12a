package io.cy.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
                        + " peer=/127.0.0.1:5000 client_cancelled=true");
    }

    @Test
    void millisecondsKeepThreeDecimals() {
        assertThat(AccessLog.millis(5_000)).isEqualTo("0.005");
        assertThat(AccessLog.millis(45_000)).isEqualTo("0.045");
        assertThat(AccessLog.millis(12_345_678)).isEqualTo("12.345");
    }

    @Test
    void linesLeaveThroughABoundedQueueThatNeverBlocksTheCaller() {
        final List<AsyncAppender> async = new ArrayList<>();
        for (var it = access.iteratorForAppenders(); it.hasNext(); ) {
            final Appender<ILoggingEvent> appender = it.next();
            if (appender instanceof AsyncAppender) {
                async.add((AsyncAppender) appender);
            }
        }
        assertThat(async).as("logback.xml: the access log's appender").singleElement().satisfies(appender -> {
            assertThat(appender.isNeverBlock()).isTrue();
            assertThat(appender.getQueueSize()).isBetween(1, 65_536);
        });
        assertThat(access.isAdditive()).as("not also written synchronously by the root logger").isFalse();
    }

    private static CallSummary summary(Status status, String model, long chunks, long ttfcNanos, long durationNanos,
                                       boolean cancelled) {
        return new CallSummary("StreamPredict", "grpc", "t-1", "/127.0.0.1:5000", Instant.EPOCH, null, "acme",
                model, "", 0, "", 0, "", status, chunks, 0, ttfcNanos, durationNanos, "", cancelled);
    }
}
