package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.awaitInflight;
import static io.cy.coordinator.QuotaCalls.quota;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.QuotaCalls.usage;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token budgets: a call reserves its prompt plus max_new_tokens when it starts and is charged
 * only the chunks it delivered when it ends. The prompt "Hi" counts 0 tokens, so a call costs
 * exactly its chunks. A budget of 1000 a minute refills 100 tokens in 6 s; the tests run well
 * within that.
 */
class QuotaTokenBudgetTest {

    static final Duration REFILL_OF_ONE_CALL = Duration.ofSeconds(6);

    @TempDir
    Path dir;

    /** Tokens a budget of 1000 a minute has refilled since {@code startedNanos}, rounded up. */
    static long refilledSince(long startedNanos) {
        return Duration.ofNanos(System.nanoTime() - startedNanos).toMillis() * 1000 / 60_000 + 1;
    }

    static List<Stream> startAll(ManagedChannel channel, StreamPredictRequest request, int n, int chunksEach)
            throws InterruptedException {
        final List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            streams.add(Stream.start(channel, request, chunksEach));
        }
        for (Stream stream : streams) {
            assertThat(stream.awaitChunks()).as("%d chunks delivered", chunksEach).isTrue();
        }
        return streams;
    }

    @Test
    void reservationsFillTheBudgetAndSettlementGivesBackWhatWasNotDelivered() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {tenants: {tok: {tokens_per_minute: 1000}}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final long started = System.nanoTime();

            // given: ten calls reserving 100 tokens each, every one stalled after delivering 20 chunks
            final List<Stream> first = startAll(channel, request("tok", 100, Map.of("sim.stall_after", "20")), 10, 20);
            final Map<String, String> full = quota(channel, "tok");
            assertThat(full).containsEntry("usage.inflight", "10");
            assertThat(Long.parseLong(full.get("usage.tokens_in_minute_window")))
                    .isBetween(1000 - refilledSince(started), 1000L);

            // when: an eleventh call of 100 comes while they are in flight
            final Result eleventh = QuotaCalls.call(channel, request("tok", 100));

            // then: it is refused for the token budget, with the time 100 tokens take to refill
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(REFILL_OF_ONE_CALL);
            // (the count in the message is what is in use plus the 100 asked for, less what refilled)
            final long hint = assertExhausted(eleventh, "tokens/min (limit 1000)");
            assertThat(eleventh.status().getDescription()).startsWith("tenant tok: ");
            assertThat(hint).isBetween(1L, REFILL_OF_ONE_CALL.toMillis());

            // when: the ten are cancelled having delivered 20 tokens each
            first.forEach(Stream::cancel);
            assertThat(stack.sim().stats().awaitCancelled(10, TIMEOUT)).isTrue();
            awaitInflight(channel, "tok", 0);

            // then: each is charged what it delivered, and the other 80 of each reservation come back
            assertThat(usage(channel, "tok", "tokens_charged")).isEqualTo(200);
            assertThat(usage(channel, "tok", "tokens_in_minute_window")).isBetween(200 - refilledSince(started), 200L);

            // and: with 800 available, eight calls of 100 fit at once and a ninth does not
            final List<Stream> second = startAll(channel, request("tok", 100, Map.of("sim.stall_after", "1")), 8, 1);
            final Result ninth = QuotaCalls.call(channel, request("tok", 100));
            if (Duration.ofNanos(System.nanoTime() - started).compareTo(REFILL_OF_ONE_CALL) < 0) {
                assertExhausted(ninth, "tokens/min (limit 1000)");
            }
            second.forEach(Stream::cancel);
            awaitInflight(channel, "tok", 0);
            // (a ninth admitted only because a slow run refilled 100 tokens delivered its 100)
            final int ninthAdmitted = ninth.status().isOk() ? 1 : 0;
            assertThat(usage(channel, "tok", "tokens_charged")).isEqualTo(200 + 8 + 100 * ninthAdmitted);
            assertThat(usage(channel, "tok", "admitted")).isEqualTo(18 + ninthAdmitted);
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(18 + ninthAdmitted);
        }
    }

    @Test
    void callsThatCompleteAreChargedTheChunksTheyDelivered() throws Exception {
        // given: a ceiling of 100, so max_new_tokens 0 reserves 100; the sidecar generates 20 by default
        try (TestStack stack = TestStack.start(dir, 1, sim -> sim.defaultMaxNewTokens(20),
                "quota: {tenants: {tok: {tokens_per_minute: 1000, max_new_tokens: 100}}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();

            // when: 40 calls one after another reserve 4000 tokens in all but use 800
            for (int i = 0; i < 40; i++) {
                final Result result = QuotaCalls.call(channel, request("tok", 0));
                assertThat(result.status().isOk()).as("call %d: %s", i + 1, result.status()).isTrue();
                assertThat(result.chunks()).hasSize(20);
            }

            // then: all fit, because each gave back the 80 it did not use
            awaitInflight(channel, "tok", 0);
            assertThat(usage(channel, "tok", "tokens_charged")).isEqualTo(800);
            assertThat(usage(channel, "tok", "tokens_in_minute_window")).isBetween(0L, 800L);
            assertThat(usage(channel, "tok", "inflight")).isZero();
        }
    }

    @Test
    void thePromptEstimateIsChargedOnceASidecarGotTheCall() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {tenants: {tok: {tokens_per_minute: 1000}}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            // 400 bytes: 100 tokens
            final StreamPredictRequest longPrompt = request("tok", 5).toBuilder().setPrompt("word".repeat(100)).build();

            assertThat(QuotaCalls.call(channel, longPrompt).status().isOk()).isTrue();
            awaitInflight(channel, "tok", 0);

            assertThat(usage(channel, "tok", "tokens_charged")).isEqualTo(105);
            // a prompt of 100 plus 901 new tokens cannot fit 1000 at all
            final Result tooBig = QuotaCalls.call(channel, longPrompt.toBuilder()
                    .setGeneration(longPrompt.getGeneration().toBuilder().setMaxNewTokens(901)).build());
            assertExhausted(tooBig, "tenant tok: a call reserving 1001 tokens can never fit 1000 tokens/min");
        }
    }
}
