package io.cy.coordinator.quota;

import static io.cy.coordinator.quota.QuotaFixtures.quotas;
import static io.cy.coordinator.quota.QuotaFixtures.request;
import static io.cy.coordinator.quota.QuotaFixtures.usage;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.quota.QuotaFixtures.ManualTime;
import io.cy.llm.proto.StreamPredictRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Admission is exact under contention: many threads released together against one tenant never
 * get more than its limits allow, and no refusal leaks part of a budget.
 */
class QuotaExactnessTest {

    static final int THREADS = 64;
    static final int TRIES = 50;

    private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    /** One attempt of one thread. */
    interface Attempt {
        void run(int thread, int attempt) throws Exception;
    }

    /** Runs {@code tries} attempts on each of {@link #THREADS} threads, all released by one barrier. */
    private void hammer(int tries, Attempt attempt) throws Exception {
        final CyclicBarrier start = new CyclicBarrier(THREADS);
        final List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int thread = t;
            done.add(pool.submit(() -> {
                start.await(10, TimeUnit.SECONDS);
                for (int i = 0; i < tries; i++) {
                    attempt.run(thread, i);
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void sixtyFourThreadsGetExactlyOneHundredRequestsAMinute() throws Exception {
        // given: 100 requests a minute, a clock standing still (no refill while they race)
        final Quotas quotas = quotas(new LocalQuotaStore(1000, new ManualTime()), Map.of("requests_per_minute", "100"));
        final StreamPredictRequest request = request(10);
        final LongAdder admitted = new LongAdder();
        final ConcurrentLinkedQueue<RejectionReason> reasons = new ConcurrentLinkedQueue<>();

        // when: 64 threads try 50 times each, settling whatever they get at once
        hammer(TRIES, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request);
            if (decision.isAdmitted()) {
                admitted.increment();
                decision.admission().settle(10, true);
            } else {
                reasons.add(decision.reason());
            }
        });

        // then: exactly 100 got in; every other attempt was refused for the rate
        assertThat(admitted.sum()).isEqualTo(100);
        assertThat(reasons).hasSize(THREADS * TRIES - 100).containsOnly(RejectionReason.REQUESTS_PER_MINUTE);
        assertThat(usage(quotas, "acme", "admitted")).isEqualTo(100);
        assertThat(usage(quotas, "acme", "rejected.requests_per_minute")).isEqualTo(THREADS * TRIES - 100);
        assertThat(usage(quotas, "acme", "requests_in_window")).isEqualTo(100);
        assertThat(usage(quotas, "acme", "inflight")).isZero();
    }

    @Test
    void withTheSystemClockNoMoreAreAdmittedThanTheRefillAllows() throws Exception {
        // given: the production clock; 100 a minute refills one request every 600 ms
        final Quotas quotas = quotas(new LocalQuotaStore(1000), Map.of("requests_per_minute", "100"));
        final StreamPredictRequest request = request(10);
        final LongAdder admitted = new LongAdder();
        final long started = System.nanoTime();

        hammer(TRIES, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request);
            if (decision.isAdmitted()) {
                admitted.increment();
                decision.admission().settle(10, true);
            }
        });

        // then: 100, plus at most what refilled while the threads ran
        final long refilled = Duration.ofNanos(System.nanoTime() - started).toMillis() / 600;
        assertThat(admitted.sum()).isBetween(100L, 100L + refilled);
    }

    @Test
    void sixtyFourThreadsHoldingSlotsGetExactlyTheConcurrencyLimit() throws Exception {
        final Quotas quotas = quotas(new LocalQuotaStore(1000, new ManualTime()), Map.of("concurrent", "8"));
        final ConcurrentLinkedQueue<Admission> held = new ConcurrentLinkedQueue<>();

        // when: every thread tries once and keeps what it gets
        hammer(1, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request(10));
            if (decision.isAdmitted()) {
                held.add(decision.admission());
            } else {
                assertThat(decision.reason()).isEqualTo(RejectionReason.CONCURRENT);
            }
        });

        assertThat(held).hasSize(8);
        assertThat(usage(quotas, "acme", "inflight")).isEqualTo(8);
        assertThat(usage(quotas, "acme", "rejected.concurrent")).isEqualTo(THREADS - 8);

        // and: each settled slot admits exactly one more
        held.poll().settle(0, false);
        assertThat(quotas.admit("acme", request(10)).isAdmitted()).isTrue();
        assertThat(quotas.admit("acme", request(10)).isAdmitted()).isFalse();
    }

    @Test
    void slotsTakenAndGivenBackUnderContentionNeverExceedTheLimit() throws Exception {
        final Quotas quotas = quotas(new LocalQuotaStore(1000, new ManualTime()), Map.of("concurrent", "8"));
        final AtomicInteger holding = new AtomicInteger();
        final AtomicInteger mostHeld = new AtomicInteger();
        final LongAdder admitted = new LongAdder();

        hammer(200, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request(10));
            if (decision.isAdmitted()) {
                admitted.increment();
                // Counted only between admission and settlement, so never above the slots taken.
                mostHeld.accumulateAndGet(holding.incrementAndGet(), Math::max);
                Thread.onSpinWait();
                holding.decrementAndGet();
                decision.admission().settle(1, true);
            }
        });

        assertThat(mostHeld.get()).isBetween(1, 8);
        assertThat(admitted.sum()).isPositive();
        assertThat(usage(quotas, "acme", "inflight")).isZero();
        assertThat(usage(quotas, "acme", "admitted")).isEqualTo(admitted.sum());
    }

    @Test
    void sixtyFourThreadsShareATokenBudgetExactly() throws Exception {
        // given: 1000 tokens a minute; each call reserves max_new_tokens 100 (the prompt counts 0)
        final Quotas quotas = quotas(new LocalQuotaStore(1000, new ManualTime()), Map.of("tokens_per_minute", "1000"));
        final ConcurrentLinkedQueue<Admission> held = new ConcurrentLinkedQueue<>();

        hammer(1, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request(100));
            if (decision.isAdmitted()) {
                held.add(decision.admission());
            }
        });

        // then: ten reservations of 100 fill the 1000
        assertThat(held).hasSize(10);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(1000);

        // when: all ten end having delivered 20 tokens each, 800 come back
        for (Admission admission : held) {
            admission.settle(20, true);
        }
        held.clear();
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(200);
        assertThat(usage(quotas, "acme", "tokens_charged")).isEqualTo(200);

        // then: racing again, exactly eight more reservations of 100 fit
        hammer(1, (thread, i) -> {
            final QuotaDecision decision = quotas.admit("acme", request(100));
            if (decision.isAdmitted()) {
                held.add(decision.admission());
            }
        });
        assertThat(held).hasSize(8);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(1000);
    }

    @Test
    void refusalsUnderContentionGiveBackWhatTheyTook() throws Exception {
        // given: requests and slots to spare, but tokens for only ten calls
        final Quotas quotas = quotas(new LocalQuotaStore(1000, new ManualTime()), Map.of(
                "requests_per_minute", "10000", "concurrent", "1000", "tokens_per_minute", "1000",
                "tokens_per_day", "100000"));
        final LongAdder admitted = new LongAdder();

        hammer(TRIES, (thread, i) -> {
            if (quotas.admit("acme", request(100)).isAdmitted()) {
                admitted.increment();
            }
        });

        // then: the refused calls hold no slot, no request and no tokens of any other budget
        assertThat(admitted.sum()).isEqualTo(10);
        assertThat(usage(quotas, "acme", "inflight")).isEqualTo(10);
        assertThat(usage(quotas, "acme", "requests_in_window")).isEqualTo(10);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(1000);
        assertThat(usage(quotas, "acme", "tokens_in_day_window")).isEqualTo(1000);
        assertThat(usage(quotas, "acme", "rejected.tokens_per_minute")).isEqualTo(THREADS * TRIES - 10);
    }

    @Test
    void tenantsRacingForTheFirstCallShareOneBudget() throws Exception {
        // given: 64 threads whose first call creates the tenant's entry at the same moment
        final LocalQuotaStore store = new LocalQuotaStore(1000, new ManualTime());
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "5"));
        final LongAdder admitted = new LongAdder();

        hammer(1, (thread, i) -> {
            if (quotas.admit("tenant-" + (thread % 4), request(1)).isAdmitted()) {
                admitted.increment();
            }
        });

        // then: four tenants, five requests each, not one budget per racing thread
        assertThat(store.trackedTenants()).isEqualTo(4);
        assertThat(admitted.sum()).isEqualTo(20);
    }
}
