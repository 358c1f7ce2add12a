package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConfigReloadsTest {

    @Test
    void aReloadAskedForAsSoonAsTheLastOneAnsweredIsTaken() throws Exception {
        final AtomicInteger reloads = new AtomicInteger();
        final ConfigReloads reloading = new ConfigReloads(
                () -> CompletableFuture.completedFuture("reload " + reloads.incrementAndGet()));

        // The second reload is asked for by the first one's answer, before anything else runs.
        final String second = reloading.get().toCompletableFuture()
                .thenCompose(first -> reloading.get())
                .get(10, TimeUnit.SECONDS);

        assertThat(second).isEqualTo("reload 2");
    }

    @Test
    void aFailedReloadFreesTheNextOneToo() throws Exception {
        final ConfigReloads reloading = new ConfigReloads(() -> {
            throw new IllegalStateException("broken");
        });

        final Throwable first = reloading.get().toCompletableFuture()
                .handle((result, failure) -> failure).get(10, TimeUnit.SECONDS);
        final Throwable second = reloading.get().toCompletableFuture()
                .handle((result, failure) -> failure).get(10, TimeUnit.SECONDS);

        assertThat(first).hasMessage("broken");
        assertThat(second).hasMessage("broken");
    }
}
