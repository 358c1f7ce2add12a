package io.cy.coordinator.service;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.spi.AppenderAttachable;
import ch.qos.logback.core.spi.AppenderAttachableImpl;
import ch.qos.logback.core.util.Duration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.LoggerFactory;

/**
 * The access log's appender: lines go through a bounded queue to a writer thread that wakes
 * every {@code flushInterval} (default 100 ms), or as soon as half the queue is taken, and
 * writes what waits together. The event loop that logs a line never waits and never wakes the
 * writer for it: logback's {@code AsyncAppender} woke its writer for every line, and the writer
 * wrote every line with a system call of its own, which one call at a time cost a third of the
 * coordinator's CPU per call.
 *
 * <p>To a {@link ConsoleAppender} (stdout in logback.xml) a batch is encoded with that appender's
 * encoder, so {@code logging.format: json} applies, and written to its stream in writes of up to
 * 64 KiB: the JVM's {@code System.out} or {@code System.err}, which the appender writes through
 * too (a write there holds its lock, so lines of other loggers never land inside one). Any other
 * appender attached gets the lines one by one.
 *
 * <p>A line that finds the queue full is dropped rather than stall a call, and counted: the
 * Health metric {@code access_log_dropped}. The audit log, not this one, is the record that
 * loses nothing. Stopping writes what the queue holds, and a line that got past logback's
 * started check before the stop but reaches the queue after the writer's last drain is written
 * by the thread that logs it.
 */
public final class AccessLogAppender extends UnsynchronizedAppenderBase<ILoggingEvent>
        implements AppenderAttachable<ILoggingEvent> {

    // A batch is written in pieces of about this much, so that one write never holds stdout long.
    private static final int MAX_WRITE_BYTES = 64 * 1024;

    private final AppenderAttachableImpl<ILoggingEvent> appenders = new AppenderAttachableImpl<>();
    private final LongAdder dropped = new LongAdder();
    // Lines offered and not yet taken by the writer: crossing half the queue wakes it.
    private final AtomicInteger waiting = new AtomicInteger();
    private int queueSize = 8192;
    private Duration flushInterval = Duration.buildByMilliseconds(100);
    private ArrayBlockingQueue<ILoggingEvent> queue;
    private Thread writer;
    private volatile boolean stopping;
    // Set by the writer before its last drain: a line offered after that is written by its caller.
    private volatile boolean writerDone;
    private final Object lastDrains = new Object();

    /** How many lines may wait for the writer (default 8192). */
    public void setQueueSize(int queueSize) {
        this.queueSize = queueSize;
    }

    public int getQueueSize() {
        return queueSize;
    }

    /** How long a line may wait before the writer takes it, while the queue is less than half full. */
    public void setFlushInterval(Duration flushInterval) {
        this.flushInterval = flushInterval;
    }

    public Duration getFlushInterval() {
        return flushInterval;
    }

    @Override
    public void addAppender(Appender<ILoggingEvent> appender) {
        appenders.addAppender(appender);
    }

    @Override
    public Iterator<Appender<ILoggingEvent>> iteratorForAppenders() {
        return appenders.iteratorForAppenders();
    }

    @Override
    public Appender<ILoggingEvent> getAppender(String name) {
        return appenders.getAppender(name);
    }

    @Override
    public boolean isAttached(Appender<ILoggingEvent> appender) {
        return appenders.isAttached(appender);
    }

    @Override
    public void detachAndStopAllAppenders() {
        appenders.detachAndStopAllAppenders();
    }

    @Override
    public boolean detachAppender(Appender<ILoggingEvent> appender) {
        return appenders.detachAppender(appender);
    }

    @Override
    public boolean detachAppender(String name) {
        return appenders.detachAppender(name);
    }

    @Override
    public void start() {
        if (isStarted()) {
            return;
        }
        if (queueSize < 2 || queueSize > 1 << 20) {
            addError("queueSize: " + queueSize + " (expected: 2..1048576)");
            return;
        }
        if (flushInterval == null || flushInterval.getMilliseconds() < 1 || flushInterval.getMilliseconds() > 10_000) {
            addError("flushInterval: " + flushInterval + " (expected: 1 millisecond..10 seconds)");
            return;
        }
        queue = new ArrayBlockingQueue<>(queueSize);
        stopping = false;
        writerDone = false;
        waiting.set(0);
        writer = new Thread(this::writeUntilStopped, "cy-access-log");
        writer.setDaemon(true);
        super.start();
        writer.start();
    }

    @Override
    public void stop() {
        if (!isStarted()) {
            return;
        }
        super.stop();
        stopping = true;
        LockSupport.unpark(writer);
        try {
            writer.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            addWarn("the access log's writer did not finish within 5 s; " + queue.size() + " lines not written");
        }
    }

    @Override
    protected void append(ILoggingEvent event) {
        // The writer reads the event later, on its thread: message, MDC and thread name fixed now.
        event.prepareForDeferredProcessing();
        if (!queue.offer(event)) {
            dropped.increment();
            return;
        }
        if (writerDone) {
            // Logged while the appender stopped, after the writer's last drain: nothing else will take it.
            writeWhatWaits();
            return;
        }
        if (waiting.incrementAndGet() == queueSize / 2) {
            LockSupport.unpark(writer);
        }
    }

    /** Whether the writer sleeps until its next turn; for tests. */
    boolean writerSleeping() {
        return writer != null && writer.getState() == Thread.State.TIMED_WAITING && queue.isEmpty();
    }

    /** Lines dropped because the queue was full. */
    public long dropped() {
        return dropped.sum();
    }

    private void writeUntilStopped() {
        final List<ILoggingEvent> batch = new ArrayList<>(Math.min(queueSize, 1024));
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(MAX_WRITE_BYTES + 4096);
        final long intervalNanos = TimeUnit.MILLISECONDS.toNanos(flushInterval.getMilliseconds());
        while (!stopping) {
            drainAndWrite(batch, bytes);
            LockSupport.parkNanos(this, intervalNanos);
        }
        // Logback refuses lines once stopped, but a line already past its started check may still
        // be on its way to the queue. Announced before the last drain, so that such a line is
        // either in the queue for this drain or sees writerDone and writes itself.
        writerDone = true;
        writeWhatWaits();
    }

    /** The last drains, by the writer and by lines that came after it; one at a time, so lines stay whole. */
    private void writeWhatWaits() {
        synchronized (lastDrains) {
            drainAndWrite(new ArrayList<>(), new ByteArrayOutputStream());
        }
    }

    private void drainAndWrite(List<ILoggingEvent> batch, ByteArrayOutputStream bytes) {
        while (queue.drainTo(batch, 1024) > 0) {
            waiting.addAndGet(-batch.size());
            write(batch, bytes);
            batch.clear();
        }
    }

    private void write(List<ILoggingEvent> batch, ByteArrayOutputStream bytes) {
        for (Iterator<Appender<ILoggingEvent>> it = appenders.iteratorForAppenders(); it.hasNext(); ) {
            final Appender<ILoggingEvent> appender = it.next();
            try {
                if (appender instanceof ConsoleAppender<ILoggingEvent> console && console.isStarted()
                        && !console.isWithJansi()) {
                    writeEncoded(console, batch, bytes);
                } else {
                    for (ILoggingEvent event : batch) {
                        appender.doAppend(event);
                    }
                }
            } catch (IOException | RuntimeException e) {
                addError("writing access log lines to " + appender.getName() + " failed", e);
            }
        }
    }

    private static void writeEncoded(ConsoleAppender<ILoggingEvent> console, List<ILoggingEvent> batch,
                                     ByteArrayOutputStream bytes) throws IOException {
        final OutputStream out = console.getOutputStream();
        bytes.reset();
        for (ILoggingEvent event : batch) {
            bytes.write(console.getEncoder().encode(event));
            if (bytes.size() >= MAX_WRITE_BYTES) {
                bytes.writeTo(out);
                bytes.reset();
            }
        }
        bytes.writeTo(out);
        out.flush();
    }

    /** The appender of logger {@code cy.access} as logback.xml sets it up; null under another configuration. */
    public static AccessLogAppender configured() {
        return LoggerFactory.getILoggerFactory() instanceof LoggerContext context ? configured(context) : null;
    }

    /** The appender of logger {@code cy.access} in {@code context}; null if it has none. */
    public static AccessLogAppender configured(LoggerContext context) {
        final Logger access = context.getLogger("cy.access");
        for (Iterator<Appender<ILoggingEvent>> it = access.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof AccessLogAppender appender) {
                return appender;
            }
        }
        return null;
    }
}
