package io.cy.coordinator.quota;

import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.TokensInheritanceStrategy;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One tenant's budgets: token buckets (Bucket4j) for requests and tokens, a concurrency count,
 * and counters. Admission is all or nothing: a budget that refuses gives back what the earlier
 * ones took. Buckets follow policy changes keeping what was used.
 */
final class TenantQuota {

    /** What a concurrency rejection suggests: no clock says when a stream will end. */
    static final long CONCURRENCY_RETRY_MILLIS = 1000;

    private final String name;
    private final TimeMeter time;
    private final AtomicInteger inflight = new AtomicInteger();
    private final LongAdder admitted = new LongAdder();
    private final LongAdder charged = new LongAdder();
    private final Map<RejectionReason, LongAdder> rejected = new EnumMap<>(RejectionReason.class);

    // Replaced together when the policy changes; read without a lock on the hot path.
    private volatile Budgets budgets;

    private record Budgets(QuotaPolicy policy, Bucket requests, Bucket tokensPerMinute, Bucket tokensPerDay) {}

    TenantQuota(String name, QuotaPolicy policy, TimeMeter time) {
        this.name = name;
        this.time = time;
        for (RejectionReason reason : RejectionReason.values()) {
            rejected.put(reason, new LongAdder());
        }
        this.budgets = new Budgets(policy,
                bucket(policy.requestsPerMinute(), policy.requestBurst(), Duration.ofMinutes(1), null, 0),
                bucket(policy.tokensPerMinute(), policy.tokensPerMinute(), Duration.ofMinutes(1), null, 0),
                bucket(policy.tokensPerDay(), policy.tokensPerDay(), Duration.ofDays(1), null, 0));
    }

    String name() {
        return name;
    }

    /** No call in flight: forgetting this tenant loses nothing but full-ish buckets. */
    boolean isIdle() {
        return inflight.get() == 0;
    }

    QuotaDecision tryAdmit(QuotaPolicy policy, long promptTokens, long reserve) {
        final Budgets b = budgetsFor(policy);
        final int open = takeSlot(policy.concurrent());
        if (open >= 0) {
            // Counted with this one; more than limit + 1 after the limit was lowered at runtime.
            return reject(RejectionReason.CONCURRENT, "tenant " + name + ": " + (open + 1)
                    + " concurrent streams (limit " + policy.concurrent() + ")", CONCURRENCY_RETRY_MILLIS);
        }
        if (policy.requestsPerMinute() == 0) {
            inflight.decrementAndGet();
            return reject(RejectionReason.REQUESTS_PER_MINUTE, "tenant " + name + ": no requests allowed (limit 0/min)",
                    Duration.ofMinutes(1).toMillis());
        }
        if (b.requests != null) {
            final ConsumptionProbe probe = b.requests.tryConsumeAndReturnRemaining(1);
            if (!probe.isConsumed()) {
                inflight.decrementAndGet();
                return reject(RejectionReason.REQUESTS_PER_MINUTE, requestsMessage(policy), millis(probe));
            }
        }
        final QuotaDecision minute = take(b.tokensPerMinute, reserve, RejectionReason.TOKENS_PER_MINUTE,
                policy.tokensPerMinute(), "tokens/min");
        if (minute != null) {
            giveBack(b.requests, 1);
            inflight.decrementAndGet();
            return minute;
        }
        final QuotaDecision day = take(b.tokensPerDay, reserve, RejectionReason.TOKENS_PER_DAY,
                policy.tokensPerDay(), "tokens/day");
        if (day != null) {
            giveBack(b.tokensPerMinute, reserve);
            giveBack(b.requests, 1);
            inflight.decrementAndGet();
            return day;
        }
        admitted.increment();
        // Settled into the buckets reserved from: after a policy change the current ones may be
        // others (a limit set since has a new bucket this call never took from).
        return QuotaDecision.admitted(new Admission(name, (admission, chargedTokens) -> settle(b, admission, chargedTokens),
                promptTokens, reserve));
    }

    void rejectedBeforeAdmission(RejectionReason reason) {
        rejected.get(reason).increment();
    }

    private void settle(Budgets b, Admission admission, long chargedTokens) {
        final long unused = admission.reservedTokens() - chargedTokens;
        giveBack(b.tokensPerMinute, unused);
        giveBack(b.tokensPerDay, unused);
        charged.add(chargedTokens);
        inflight.decrementAndGet();
    }

    void reset() {
        final Budgets b = budgets;
        for (Bucket bucket : new Bucket[] {b.requests, b.tokensPerMinute, b.tokensPerDay}) {
            if (bucket != null) {
                bucket.reset();
            }
        }
    }

    Map<String, String> usage() {
        final Budgets b = budgets;
        final Map<String, String> usage = new LinkedHashMap<>();
        usage.put("inflight", String.valueOf(inflight.get()));
        usage.put("requests_in_window", used(b.requests, b.policy.requestBurst()));
        usage.put("tokens_in_minute_window", used(b.tokensPerMinute, b.policy.tokensPerMinute()));
        usage.put("tokens_in_day_window", used(b.tokensPerDay, b.policy.tokensPerDay()));
        usage.put("admitted", String.valueOf(admitted.sum()));
        usage.put("tokens_charged", String.valueOf(charged.sum()));
        for (Map.Entry<RejectionReason, LongAdder> e : rejected.entrySet()) {
            usage.put("rejected." + e.getKey().key(), String.valueOf(e.getValue().sum()));
        }
        return usage;
    }

    long rejections() {
        long n = 0;
        for (LongAdder count : rejected.values()) {
            n += count.sum();
        }
        return n;
    }

    /** Takes a stream slot and returns -1, or returns the streams open when none is free. */
    private int takeSlot(long limit) {
        while (true) {
            final int current = inflight.get();
            if (limit != QuotaPolicy.UNLIMITED && current >= limit) {
                return current;
            }
            if (inflight.compareAndSet(current, current + 1)) {
                return -1;
            }
        }
    }

    private QuotaDecision take(Bucket bucket, long reserve, RejectionReason reason, long limit, String unit) {
        if (bucket == null || reserve == 0) {
            return null;
        }
        if (reserve > limit) {
            return reject(reason, "tenant " + name + ": a call reserving " + reserve + " tokens can never fit "
                    + limit + " " + unit + " (lower generation.max_new_tokens)", fullRefillMillis(reason));
        }
        final ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(reserve);
        if (probe.isConsumed()) {
            return null;
        }
        final long used = limit - bucket.getAvailableTokens();
        return reject(reason, "tenant " + name + ": " + (used + reserve) + " " + unit + " (limit " + limit + ")",
                millis(probe));
    }

    private QuotaDecision reject(RejectionReason reason, String message, long retryAfterMillis) {
        rejected.get(reason).increment();
        return QuotaDecision.exhausted(reason, message, retryAfterMillis);
    }

    private String requestsMessage(QuotaPolicy policy) {
        if (policy.requestBurst() == policy.requestsPerMinute()) {
            return "tenant " + name + ": " + (policy.requestsPerMinute() + 1) + " requests/min (limit "
                    + policy.requestsPerMinute() + ")";
        }
        return "tenant " + name + ": more than " + policy.requestBurst() + " requests at once (limit "
                + policy.requestsPerMinute() + " requests/min, burst " + policy.requestBurst() + ")";
    }

    private static long fullRefillMillis(RejectionReason reason) {
        return reason == RejectionReason.TOKENS_PER_DAY ? Duration.ofDays(1).toMillis() : Duration.ofMinutes(1).toMillis();
    }

    private static long millis(ConsumptionProbe probe) {
        // Rounded up: coming back a little late works, a little early does not.
        return (probe.getNanosToWaitForRefill() + 999_999) / 1_000_000;
    }

    private static String used(Bucket bucket, long capacity) {
        return bucket == null ? "0" : String.valueOf(Math.max(0, capacity - bucket.getAvailableTokens()));
    }

    private static void giveBack(Bucket bucket, long tokens) {
        if (bucket != null && tokens > 0) {
            bucket.addTokens(tokens);
        }
    }

    private Budgets budgetsFor(QuotaPolicy policy) {
        final Budgets current = budgets;
        if (current.policy.equals(policy)) {
            return current;
        }
        synchronized (this) {
            if (!budgets.policy.equals(policy)) {
                final QuotaPolicy old = budgets.policy;
                budgets = new Budgets(policy,
                        bucket(policy.requestsPerMinute(), policy.requestBurst(), Duration.ofMinutes(1), budgets.requests,
                                old.requestBurst()),
                        bucket(policy.tokensPerMinute(), policy.tokensPerMinute(), Duration.ofMinutes(1),
                                budgets.tokensPerMinute, old.tokensPerMinute()),
                        bucket(policy.tokensPerDay(), policy.tokensPerDay(), Duration.ofDays(1), budgets.tokensPerDay,
                                old.tokensPerDay()));
            }
            return budgets;
        }
    }

    /**
     * A bucket refilling {@code rate} per {@code period} up to {@code capacity}; null when unlimited.
     * {@code previous}, when not null, is reconfigured instead, keeping its usage against
     * {@code previousCapacity}.
     */
    private Bucket bucket(long rate, long capacity, Duration period, Bucket previous, long previousCapacity) {
        if (rate == QuotaPolicy.UNLIMITED) {
            return null;
        }
        final BucketConfiguration config = BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(Math.max(1, capacity)).refillGreedy(Math.max(1, rate), period))
                .build();
        if (previous != null) {
            // New limits, same usage (capacity - available): a reload must neither hand out a fresh
            // budget nor forgive what was used. AS_IS alone does both: it keeps "available", so a
            // raised capacity shows as usage and a lowered one clips usage away. Both steps below
            // are relative, so admissions and settlements racing with them are not lost.
            final long oldCapacity = Math.max(1, previousCapacity);
            final long newCapacity = Math.max(1, capacity);
            if (newCapacity < oldCapacity) {
                // May leave the bucket in debt: more used than the new limit allows.
                previous.consumeIgnoringRateLimits(oldCapacity - newCapacity);
                previous.replaceConfiguration(config, TokensInheritanceStrategy.AS_IS);
            } else {
                previous.replaceConfiguration(config, TokensInheritanceStrategy.ADDITIVE);
            }
            return previous;
        }
        return Bucket.builder()
                .addLimit(limit -> limit.capacity(Math.max(1, capacity)).refillGreedy(Math.max(1, rate), period))
                .withCustomTimePrecision(time)
                .build();
    }
}
