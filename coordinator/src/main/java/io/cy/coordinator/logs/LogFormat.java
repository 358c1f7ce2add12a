package io.cy.coordinator.logs;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import org.slf4j.LoggerFactory;

/**
 * {@code logging.format: json}: the stdout appender of logback.xml gets logback's
 * {@link JsonEncoder}, one JSON object per line with the MDC (the call's {@code trace_id}) and the
 * key-value pairs (the access line's fields) as keys. Switched once the configuration is read, so
 * the few lines logged before that are plain text.
 */
public final class LogFormat {

    /** The appender logback.xml writes every line through. */
    static final String APPENDER = "STDOUT";

    private LogFormat() {}

    /** Switches the running logback configuration to JSON; false when logback is not what logs here. */
    public static boolean useJson() {
        return LoggerFactory.getILoggerFactory() instanceof LoggerContext context && useJson(context);
    }

    static boolean useJson(LoggerContext context) {
        final Appender<ILoggingEvent> appender = context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(APPENDER);
        if (!(appender instanceof OutputStreamAppender<ILoggingEvent> out)) {
            return false;
        }
        final JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        // The message with its arguments filled in, once: not the pattern and the arguments apart.
        encoder.setWithFormattedMessage(true);
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.start();
        // Swapped in place, not through stop() and start(), which would close the stream. It
        // happens before the coordinator starts: only startup lines are written meanwhile.
        out.setEncoder(encoder);
        return true;
    }
}
