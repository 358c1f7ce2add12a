package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.awaitInflight;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.QuotaCalls.usage;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.quota.Admission;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way a call ends gives its concurrency slot back and settles its tokens once: with one
 * stream allowed per tenant, the next call gets the slot. Each test is its own tenant. Prompts
 * are 40 bytes (10 tokens), so the charge shows whether the prompt counted.
 */
class QuotaReleaseTest {

    static final String ONE_AT_A_TIME = "quota: {default: {concurrent: 1, tokens_per_minute: 100000}}";

    @TempDir
    static Path dir;

    static TestStack stack;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> { }, ONE_AT_A_TIME, Map.of());
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** A directory of its own for a test that needs a coordinator of its own. */
    static Path subdir(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    /** A request of {@code tenant} with a 10-token prompt. */
    static StreamPredictRequest request10(String tenant, int maxNewTokens, Map<String, String> extra) {
        return request(tenant, maxNewTokens, extra).toBuilder().setPrompt("x".repeat(40)).build();
    }

    /**
     * The call was settled, charged {@code charged} tokens, and its slot is free again: nothing in
     * flight, and the tenant's next call runs.
     */
    static void assertSettled(String tenant, long charged) throws Exception {
        // The client may see the end a moment before the coordinator settles: wait for the slot.
        awaitInflight(channel, tenant, 0);
        assertThat(usage(channel, tenant, "tokens_charged")).isEqualTo(charged);
        final Result next = QuotaCalls.call(channel, request(tenant, 2));
        assertThat(next.status().isOk()).as("the next call of %s: %s", tenant, next.status()).isTrue();
    }

    /** While {@code tenant}'s one stream is open, another call of it is refused. */
    static void assertSlotHeld(String tenant) throws Exception {
        assertThat(usage(channel, tenant, "inflight")).isEqualTo(1);
        assertExhausted(QuotaCalls.call(channel, request(tenant, 2)), "concurrent streams (limit 1)");
    }

    @Test
    void success() throws Exception {
        final Result result = QuotaCalls.call(channel, request10("ok", 5, Map.of()));

        assertThat(result.status().isOk()).isTrue();
        assertSettled("ok", 10 + 5);
    }

    @Test
    void sidecarErrorBeforeTheFirstChunk() throws Exception {
        final Result result = QuotaCalls.call(channel,
                request10("fail0", 50, Map.of("sim.fail", "INTERNAL", "sim.fail_after", "0")));

        assertThat(result.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(result.chunks()).isEmpty();
        // the sidecar got the prompt: it is charged, nothing else
        assertSettled("fail0", 10);
    }

    @Test
    void sidecarErrorAfterThreeChunks() throws Exception {
        final Result result = QuotaCalls.call(channel,
                request10("fail3", 50, Map.of("sim.fail", "INTERNAL", "sim.fail_after", "3")));

        assertThat(result.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(result.chunks()).hasSize(3);
        assertSettled("fail3", 10 + 3);
    }

    @Test
    void clientCancel() throws Exception {
        final long cancelledBefore = stack.sim().stats().callsCancelled();
        final Stream stream = Stream.start(channel, request10("cancel", 50, Map.of("sim.stall_after", "2")), 2);
        assertThat(stream.awaitChunks()).isTrue();
        assertSlotHeld("cancel");

        stream.cancel();

        assertThat(stream.awaitResult().status().getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(stack.sim().stats().awaitCancelled(cancelledBefore + 1, TIMEOUT)).isTrue();
        assertSettled("cancel", 10 + 2);
    }

    @Test
    void deadline() throws Exception {
        final Stream stream = Stream.start(channel, request10("deadline", 50, Map.of("sim.stall_after", "1")), 1,
                new Metadata(), Duration.ofMillis(1500));
        assertThat(stream.awaitChunks()).isTrue();
        assertSlotHeld("deadline");

        final Result result = stream.awaitResult();

        assertThat(result.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertSettled("deadline", 10 + 1);
    }

    @Test
    void refusedBeforeAnySidecar() throws Exception {
        // invalid: refused by validation before admission; then over the concurrency limit
        final Result invalid = QuotaCalls.call(channel, request("early", 2).toBuilder().setPrompt("").build());
        assertThat(invalid.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(usage(channel, "early", "admitted")).isZero();

        final Stream holder = Stream.start(channel, request("early", 50, Map.of("sim.stall_after", "1")), 1);
        assertThat(holder.awaitChunks()).isTrue();
        assertSlotHeld("early");
        assertSlotHeld("early");
        holder.cancel();

        assertSettled("early", 1);
        assertThat(usage(channel, "early", "rejected.concurrent")).isEqualTo(2);
    }

    @Test
    void noSidecarReachable() throws Exception {
        try (TestStack own = TestStack.start(subdir("unreachable"), 1, sim -> { }, ONE_AT_A_TIME, Map.of())) {
            final ManagedChannel ownChannel = own.coordinatorChannel();
            own.sim().close();

            final Result result = QuotaCalls.call(ownChannel, request10("lost", 5, Map.of()));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            Eventually.await("lost's slot free", TIMEOUT, () -> usage(ownChannel, "lost", "inflight") == 0);
            // no sidecar got the prompt: nothing is charged
            assertThat(usage(ownChannel, "lost", "tokens_charged")).isZero();
            assertThat(usage(ownChannel, "lost", "tokens_in_minute_window")).isZero();
        }
    }

    @Test
    void shutdownAfterTheGracePeriod() throws Exception {
        try (TestStack own = TestStack.start(subdir("shutdown"), 1, sim -> { }, ONE_AT_A_TIME, Map.of())) {
            final ManagedChannel ownChannel = own.coordinatorChannel();
            final Stream stream = Stream.start(ownChannel, request10("stop", 50, Map.of("sim.stall_after", "3")), 3);
            assertThat(stream.awaitChunks()).isTrue();
            assertThat(usage(ownChannel, "stop", "inflight")).isEqualTo(1);
            final Quotas quotas = QuotaCalls.quotasOf(own.coordinator);

            // when: the coordinator shuts down with a short grace while the stream stalls
            final CompletableFuture<Void> shutdown =
                    CompletableFuture.runAsync(() -> own.coordinator.shutdown(Duration.ofMillis(300)));
            shutdown.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

            // then: the stream ends with an error, its slot is free and it is charged what it delivered
            assertThat(stream.awaitResult().status().isOk()).isFalse();
            Eventually.await("stop's slot free", TIMEOUT,
                    () -> quotas.describe("stop").get("usage.inflight").equals("0"));
            assertThat(quotas.describe("stop")).containsEntry("usage.tokens_charged", String.valueOf(10 + 3));
            final QuotaDecision next = quotas.admit("stop", request("stop", 2));
            assertThat(next.isAdmitted()).as("the slot can be taken: %s", next.status()).isTrue();
            final Admission admission = next.admission();
            admission.settle(0, false);
        }
    }
}
