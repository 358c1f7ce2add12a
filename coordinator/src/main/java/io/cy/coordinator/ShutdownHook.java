package io.cy.coordinator;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's SIGTERM/SIGINT handling, registered before the coordinator starts.
 *
 * <p>A signal that arrives while the coordinator is starting must not halt the JVM under it:
 * what has started by then (an embedded PostgreSQL, above all, which runs as a process of its
 * own) would be left running. So the hook waits for startup to end. If it succeeded, the
 * coordinator shuts down gracefully; if it failed, startup has already stopped what it started.
 * The wait is bounded, so that a startup that hangs cannot keep the process from exiting.
 */
final class ShutdownHook {

    private static final Logger logger = LoggerFactory.getLogger(ShutdownHook.class);

    private final CompletableFuture<Runnable> startup = new CompletableFuture<>();
    private final Duration startupWait;
    private final Runnable afterShutdown;

    /**
     * @param startupWait how long a signal during startup waits for it to end
     * @param afterShutdown runs last, whatever happened before (flushing the log, say)
     */
    ShutdownHook(Duration startupWait, Runnable afterShutdown) {
        this.startupWait = requireNonNull(startupWait, "startupWait");
        this.afterShutdown = requireNonNull(afterShutdown, "afterShutdown");
    }

    /** Startup succeeded; {@code shutdown} stops what it started. */
    void started(Runnable shutdown) {
        startup.complete(requireNonNull(shutdown, "shutdown"));
    }

    /** Startup failed, and has stopped whatever it had started. */
    void startFailed() {
        startup.complete(() -> { });
    }

    /** Registers {@link #run} as a JVM shutdown hook. */
    ShutdownHook register() {
        Runtime.getRuntime().addShutdownHook(new Thread(this::run, "cy-shutdown"));
        return this;
    }

    /** What the JVM runs on SIGTERM, SIGINT or {@code System.exit}. */
    void run() {
        try {
            if (!startup.isDone()) {
                logger.info("signal during startup: shutting down once startup has ended (waiting at most {}s)",
                        startupWait.toSeconds());
            }
            startup.get(startupWait.toNanos(), TimeUnit.NANOSECONDS).run();
        } catch (TimeoutException e) {
            logger.error("startup still running after {}s: exiting without stopping what it started",
                    startupWait.toSeconds());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | RuntimeException e) {
            logger.error("shutdown failed", e instanceof ExecutionException ? e.getCause() : e);
        } finally {
            afterShutdown.run();
        }
    }
}
