package io.cy.coordinator;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.ConfigException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Runs a configuration reload on a thread of its own, one at a time. {@code reload_config}
 * arrives on an event loop, and a reload reads the file from disk and may open connections to new
 * sidecars: none of that may hold up the calls of that loop. A reload asked for while one runs is
 * refused at once rather than queued, so a caller repeating it cannot pile reloads up.
 */
final class ConfigReloads implements Supplier<CompletionStage<String>> {

    private final Supplier<CompletionStage<String>> reload;
    private final AtomicBoolean running = new AtomicBoolean();

    ConfigReloads(Supplier<CompletionStage<String>> reload) {
        this.reload = requireNonNull(reload, "reload");
    }

    /** Completes with what the reload did, or exceptionally as the reload failed. */
    @Override
    public CompletionStage<String> get() {
        if (!running.compareAndSet(false, true)) {
            return CompletableFuture.failedFuture(new ConfigException("reload_config",
                    "another reload is still running (expected: one at a time; ask again once it answered)"));
        }
        final CompletableFuture<String> done = new CompletableFuture<>();
        final Thread thread = new Thread(() -> {
            try {
                reload.get().whenComplete((result, failure) -> {
                    // Free before answering: a caller that asks again as soon as it has the answer is taken.
                    running.set(false);
                    if (failure == null) {
                        done.complete(result);
                    } else {
                        // What failed, not the wrapper of the stage it failed in: callers map it to an answer.
                        done.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                                ? failure.getCause() : failure);
                    }
                });
            } catch (RuntimeException e) {
                running.set(false);
                done.completeExceptionally(e);
            }
        }, "cy-config-reload");
        thread.setDaemon(true);
        thread.start();
        return done;
    }
}
