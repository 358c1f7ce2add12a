package io.cy.coordinator.service;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import java.util.Iterator;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.LoggerFactory;

/**
 * Logback's {@link AsyncAppender} that also counts the lines it drops. With {@code neverBlock}
 * a line that finds the queue full is dropped so that no call waits for stdout; the count goes
 * to the Health metric {@code access_log_dropped}, so an operator sees that lines are missing.
 *
 * <p>The count is taken from the queue's remaining capacity just before the line is offered
 * (logback does not report a refused offer): when the queue is exactly at its edge while lines
 * arrive on two threads, one line may be counted wrongly either way.
 */
public final class AccessLogAppender extends AsyncAppender {

    private final LongAdder dropped = new LongAdder();

    @Override
    protected void append(ILoggingEvent event) {
        if (isStarted() && isNeverBlock() && getRemainingCapacity() == 0) {
            dropped.increment();
        }
        super.append(event);
    }

    public long dropped() {
        return dropped.sum();
    }

    /** The appender of logger {@code cy.access} as logback.xml sets it up; null under another configuration. */
    public static AccessLogAppender configured() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return null;
        }
        final Logger access = context.getLogger("cy.access");
        for (Iterator<Appender<ILoggingEvent>> it = access.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof AccessLogAppender appender) {
                return appender;
            }
        }
        return null;
    }
}
