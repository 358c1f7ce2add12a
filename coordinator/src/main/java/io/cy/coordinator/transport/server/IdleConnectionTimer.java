package io.cy.coordinator.transport.server;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code server.max_connection_idle} for one connection, with grpc-java's meaning: the connection
 * is idle while it has no open stream, and {@code onIdle} runs once it has been idle for the whole
 * limit. One timer at a time, pushed back rather than rescheduled on every stream: a busy
 * connection costs a field write per stream. Confined to the connection's event loop.
 */
final class IdleConnectionTimer {

    private final EventLoop loop;
    private final long maxIdleNanos;
    private final Runnable onIdle;
    private boolean active;
    private long idleSinceNanos;
    private ScheduledFuture<?> check;
    private boolean stopped;

    IdleConnectionTimer(EventLoop loop, long maxIdleNanos, Runnable onIdle) {
        this.loop = loop;
        this.maxIdleNanos = maxIdleNanos;
        this.onIdle = onIdle;
    }

    /** The connection is open, with no stream yet. */
    void start() {
        idleSinceNanos = System.nanoTime();
        schedule(maxIdleNanos);
    }

    /** The first stream opened. */
    void onActive() {
        active = true;
    }

    /** The last stream closed. */
    void onIdle() {
        active = false;
        idleSinceNanos = System.nanoTime();
        if (check == null) {
            schedule(maxIdleNanos);
        }
    }

    void stop() {
        stopped = true;
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }

    private void schedule(long delayNanos) {
        if (!stopped) {
            check = loop.schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void check() {
        check = null;
        if (active || stopped) {
            // Rescheduled when the last stream closes.
            return;
        }
        final long left = idleSinceNanos + maxIdleNanos - System.nanoTime();
        if (left > 0) {
            schedule(left);
        } else {
            onIdle.run();
        }
    }
}
