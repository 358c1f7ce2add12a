package io.cy.coordinator;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;

/**
 * Everything logged through the root logger while it is open, at {@code level} or above (the
 * root level is lowered for the duration where needed, so debug lines are seen too).
 */
final class LogCapture implements AutoCloseable {

    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Level previousLevel;

    private LogCapture(Level level) {
        previousLevel = root.getLevel();
        appender.setName("log-capture");
        appender.setContext(root.getLoggerContext());
        appender.start();
        root.addAppender(appender);
        root.setLevel(level);
        // grpc's and Netty's frame dumps at DEBUG print every header, credentials included, by
        // design; they stay at INFO here as in any deployment (see logback.xml).
        for (String name : THIRD_PARTY) {
            final ch.qos.logback.classic.Logger logger = root.getLoggerContext().getLogger(name);
            pinned.add(logger.getLevel());
            logger.setLevel(Level.INFO);
        }
    }

    private static final List<String> THIRD_PARTY = List.of("io.grpc", "io.netty");
    private final List<Level> pinned = new ArrayList<>();

    static LogCapture start(Level level) {
        return new LogCapture(level);
    }

    List<ILoggingEvent> events() {
        synchronized (appender) {
            return new ArrayList<>(appender.list);
        }
    }

    /** Each event as one text: level, logger, message, MDC and any throwable with its causes and stack. */
    List<String> lines() {
        return events().stream().map(LogCapture::render).collect(Collectors.toList());
    }

    private static String render(ILoggingEvent event) {
        final StringBuilder line = new StringBuilder()
                .append(event.getLevel()).append(' ').append(event.getLoggerName()).append(' ')
                .append(event.getFormattedMessage());
        if (!event.getMDCPropertyMap().isEmpty()) {
            line.append(' ').append(event.getMDCPropertyMap());
        }
        if (event.getKeyValuePairs() != null) {
            line.append(' ').append(event.getKeyValuePairs());
        }
        if (event.getThrowableProxy() != null) {
            line.append('\n').append(ThrowableProxyUtil.asString(event.getThrowableProxy()));
        }
        return line.toString();
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        appender.stop();
        root.setLevel(previousLevel);
        for (int i = 0; i < THIRD_PARTY.size(); i++) {
            root.getLoggerContext().getLogger(THIRD_PARTY.get(i)).setLevel(pinned.get(i));
        }
    }
}
