package io.cy.coordinator.quota;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.cy.coordinator.config.CoordinatorConfig.QuotaStoreSettings;
import io.cy.coordinator.redis.RedisConnection;
import io.grpc.Status;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage shared by every coordinator on one Redis: one script run at admission and one at
 * settlement ({@link RedisScripts}), so limits hold exactly across replicas.
 *
 * <p>Concurrency: each call in flight is a member of its tenant's sorted set, scored with the end
 * of a lease that this replica renews every lease / 3 for its own calls. A replica that dies stops
 * renewing, and its calls stop counting within the lease.
 *
 * <p>While Redis does not answer within the timeout, {@code on_unavailable} decides: each replica
 * on its own with its share of every limit (limit / replicas_hint, in a {@link LocalQuotaStore}),
 * or UNAVAILABLE. Calls admitted either way are renewed in Redis once it is back, so the shared
 * concurrency count is right again after one heartbeat.
 */
public final class RedisQuotaStore implements QuotaStore, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisQuotaStore.class);
    private static final long MINUTE = Duration.ofMinutes(1).toMillis();
    private static final long DAY = Duration.ofDays(1).toMillis();

    private final RedisConnection redis;
    private final String prefix;
    private final QuotaStoreSettings settings;
    private final int maxTenants;
    private final LocalQuotaStore fallback;
    private final String replica = UUID.randomUUID().toString();
    private final AtomicLong sequence = new AtomicLong();
    // This replica's calls in flight with a concurrency limit: tenant -> members.
    private final Map<String, Set<String>> live = new ConcurrentHashMap<>();
    private final Map<String, Counts> counts = new ConcurrentHashMap<>();
    private final ScheduledExecutorService heartbeat;
    private final AtomicBoolean unavailable = new AtomicBoolean();
    private final LongAdder fallbacks = new LongAdder();
    private final LongAdder unavailableRejections = new LongAdder();

    /** This replica's counts of a tenant's calls (Redis holds the shared usage). */
    private static final class Counts {
        final LongAdder admitted = new LongAdder();
        final LongAdder charged = new LongAdder();
        final Map<RejectionReason, LongAdder> rejected = new EnumMap<>(RejectionReason.class);

        Counts() {
            for (RejectionReason reason : RejectionReason.values()) {
                rejected.put(reason, new LongAdder());
            }
        }
    }

    /**
     * @param prefix put before every key, so that deployments (or tests) can share one Redis
     */
    public RedisQuotaStore(QuotaStoreSettings settings, String prefix, int maxTenants) {
        this.settings = requireNonNull(settings, "settings");
        this.prefix = requireNonNull(prefix, "prefix");
        this.maxTenants = maxTenants;
        this.fallback = new LocalQuotaStore(maxTenants);
        this.redis = new RedisConnection(settings.redisUrl(), Duration.ofSeconds(1).plus(settings.timeout()));
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "quota-lease-heartbeat");
            t.setDaemon(true);
            return t;
        });
        if (!redis.connect(Duration.ofSeconds(2))) {
            log.warn("quota store: Redis at {} not reachable at startup; connecting in the background", redis.target());
        }
        final long period = Math.max(1, settings.lease().toMillis() / 3);
        heartbeat.scheduleWithFixedDelay(this::renewLeases, 0, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public QuotaDecision tryAdmit(String tenant, QuotaPolicy policy, long promptTokens, long reservedTokens) {
        // Bounded: the decision completes within quota.redis.timeout whatever Redis does.
        return tryAdmitAsync(tenant, policy, promptTokens, reservedTokens).toCompletableFuture().join();
    }

    @Override
    public CompletableFuture<QuotaDecision> tryAdmitAsync(String tenant, QuotaPolicy policy, long promptTokens,
                                                          long reservedTokens) {
        final QuotaDecision never = neverFits(tenant, policy, reservedTokens);
        if (never != null) {
            return CompletableFuture.completedFuture(never);
        }
        if (!hasBudgets(policy)) {
            // Only ceilings (checked by Quotas): nothing to count, nothing to ask Redis.
            counts(tenant).admitted.increment();
            return CompletableFuture.completedFuture(QuotaDecision.admitted(new Admission(tenant,
                    (admission, charged) -> counts(tenant).charged.add(charged), promptTokens, reservedTokens)));
        }
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return CompletableFuture.completedFuture(
                    whileUnavailable(tenant, policy, promptTokens, reservedTokens, "not connected"));
        }
        final String member = replica + ":" + sequence.incrementAndGet();
        final CompletableFuture<Object> reply = RedisScripts.run(commands, RedisScripts.ADMIT, keys(tenant),
                admitArgs(member, policy, reservedTokens));
        // A copy times out, not the reply itself: a late answer must still be seen, to give it back.
        return reply.copy().orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS).handle((result, error) -> {
            if (error == null) {
                available();
                return decide(tenant, policy, member, (List<?>) result, promptTokens, reservedTokens);
            }
            final Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            if (cause instanceof TimeoutException) {
                // Redis may still admit it: then give it all back at once.
                reply.thenAccept(late -> {
                    if (((Number) ((List<?>) late).get(0)).longValue() == 0) {
                        release(tenant, policy, member, reservedTokens);
                    }
                });
                return whileUnavailable(tenant, policy, promptTokens, reservedTokens,
                        "no answer within " + settings.timeout().toMillis() + "ms");
            }
            return whileUnavailable(tenant, policy, promptTokens, reservedTokens, String.valueOf(cause));
        });
    }

    private QuotaDecision decide(String tenant, QuotaPolicy policy, String member, List<?> result, long promptTokens,
                                 long reservedTokens) {
        final long code = ((Number) result.get(0)).longValue();
        if (code != 0) {
            return refusal(tenant, policy, code, ((Number) result.get(1)).longValue(),
                    ((Number) result.get(2)).longValue(), reservedTokens);
        }
        counts(tenant).admitted.increment();
        track(tenant, policy, member);
        return QuotaDecision.admitted(new Admission(tenant, (admission, charged) -> {
            untrack(tenant, member);
            counts(tenant).charged.add(charged);
            settle(tenant, policy, member, admission.reservedTokens() - charged);
        }, promptTokens, reservedTokens));
    }

    @Override
    public void countRejection(String tenant, QuotaPolicy policy, RejectionReason reason) {
        counts(tenant).rejected.get(reason).increment();
    }

    @Override
    public Map<String, String> usage(String tenant, QuotaPolicy policy) {
        return usageAsync(tenant, policy).toCompletableFuture().join();
    }

    /** Never fails: what Redis does not answer within the timeout shows as {@code unknown}. */
    @Override
    public CompletionStage<Map<String, String>> usageAsync(String tenant, QuotaPolicy policy) {
        return sharedUsage(tenant, policy).thenApply(shared -> {
            final Map<String, String> usage = new LinkedHashMap<>();
            usage.put("inflight", shared == null ? "unknown" : shared.get(0).toString());
            usage.put("requests_in_window", shared == null ? "unknown" : shared.get(1).toString());
            usage.put("tokens_in_minute_window", shared == null ? "unknown" : shared.get(2).toString());
            usage.put("tokens_in_day_window", shared == null ? "unknown" : shared.get(3).toString());
            final Counts c = counts(tenant);
            usage.put("admitted", String.valueOf(c.admitted.sum()));
            usage.put("tokens_charged", String.valueOf(c.charged.sum()));
            for (Map.Entry<RejectionReason, LongAdder> e : c.rejected.entrySet()) {
                usage.put("rejected." + e.getKey().key(), String.valueOf(e.getValue().sum()));
            }
            usage.put("store", "redis" + (unavailable.get() ? " (unavailable)" : ""));
            return usage;
        });
    }

    @Override
    public void reset(String tenant) {
        try {
            resetAsync(tenant).toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof IllegalStateException refused ? refused : e;
        }
    }

    @Override
    public CompletionStage<Void> resetAsync(String tenant) {
        fallback.reset(tenant);
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return CompletableFuture.failedFuture(
                    new IllegalStateException("Redis at " + redis.target() + " is not connected"));
        }
        final List<String> keys = keys(tenant);
        return commands.del(keys.get(0), keys.get(1), keys.get(2)).toCompletableFuture()
                .orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .handle((deleted, failure) -> {
                    if (failure != null) {
                        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                                ? failure.getCause() : failure;
                        throw new IllegalStateException("Redis at " + redis.target() + " did not reset tenant "
                                + tenant + ": " + (cause instanceof TimeoutException
                                ? "no answer within " + settings.timeout().toMillis() + "ms" : cause.toString()));
                    }
                    return null;
                });
    }

    @Override
    public int trackedTenants() {
        return counts.size();
    }

    @Override
    public java.util.List<String> trackedTenantNames(int max) {
        return counts.keySet().stream().limit(max).toList();
    }

    @Override
    public long rejections() {
        long n = unavailableRejections.sum();
        for (Counts c : counts.values()) {
            for (LongAdder count : c.rejected.values()) {
                n += count.sum();
            }
        }
        return n;
    }

    @Override
    public Map<String, String> metrics() {
        return Map.of("quota_redis_fallbacks", String.valueOf(fallbacks.sum()),
                "quota_redis_unavailable_rejections", String.valueOf(unavailableRejections.sum()),
                "quota_redis_available", unavailable.get() ? "0" : "1");
    }

    @Override
    public void close() {
        heartbeat.shutdownNow();
        redis.close();
    }

    private static boolean hasBudgets(QuotaPolicy policy) {
        return policy.concurrent() != QuotaPolicy.UNLIMITED || policy.requestsPerMinute() != QuotaPolicy.UNLIMITED
                || policy.tokensPerMinute() != QuotaPolicy.UNLIMITED || policy.tokensPerDay() != QuotaPolicy.UNLIMITED;
    }

    /** Calls this replica would refuse whatever Redis holds; never asks it. */
    private QuotaDecision neverFits(String tenant, QuotaPolicy policy, long reserve) {
        if (policy.requestsPerMinute() == 0) {
            return reject(tenant, RejectionReason.REQUESTS_PER_MINUTE, "tenant " + tenant
                    + ": no requests allowed (limit 0/min)", MINUTE);
        }
        if (reserve > 0 && policy.tokensPerMinute() != QuotaPolicy.UNLIMITED && reserve > policy.tokensPerMinute()) {
            return reject(tenant, RejectionReason.TOKENS_PER_MINUTE, "tenant " + tenant + ": a call reserving " + reserve
                    + " tokens can never fit " + policy.tokensPerMinute() + " tokens/min (lower generation.max_new_tokens)",
                    MINUTE);
        }
        if (reserve > 0 && policy.tokensPerDay() != QuotaPolicy.UNLIMITED && reserve > policy.tokensPerDay()) {
            return reject(tenant, RejectionReason.TOKENS_PER_DAY, "tenant " + tenant + ": a call reserving " + reserve
                    + " tokens can never fit " + policy.tokensPerDay() + " tokens/day (lower generation.max_new_tokens)",
                    DAY);
        }
        return null;
    }

    private QuotaDecision refusal(String tenant, QuotaPolicy policy, long code, long used, long waitMillis, long reserve) {
        switch ((int) code) {
            case 1:
                return reject(tenant, RejectionReason.CONCURRENT, "tenant " + tenant + ": " + (used + 1)
                        + " concurrent streams (limit " + policy.concurrent() + ")", TenantQuota.CONCURRENCY_RETRY_MILLIS);
            case 2:
                return reject(tenant, RejectionReason.REQUESTS_PER_MINUTE, policy.requestBurst() == policy.requestsPerMinute()
                        ? "tenant " + tenant + ": " + (policy.requestsPerMinute() + 1) + " requests/min (limit "
                                + policy.requestsPerMinute() + ")"
                        : "tenant " + tenant + ": more than " + policy.requestBurst() + " requests at once (limit "
                                + policy.requestsPerMinute() + " requests/min, burst " + policy.requestBurst() + ")",
                        waitMillis);
            case 3:
                return reject(tenant, RejectionReason.TOKENS_PER_MINUTE, "tenant " + tenant + ": " + (used + reserve)
                        + " tokens/min (limit " + policy.tokensPerMinute() + ")", waitMillis);
            default:
                return reject(tenant, RejectionReason.TOKENS_PER_DAY, "tenant " + tenant + ": " + (used + reserve)
                        + " tokens/day (limit " + policy.tokensPerDay() + ")", waitMillis);
        }
    }

    private QuotaDecision reject(String tenant, RejectionReason reason, String message, long retryAfterMillis) {
        counts(tenant).rejected.get(reason).increment();
        return QuotaDecision.exhausted(reason, message, retryAfterMillis);
    }

    private QuotaDecision whileUnavailable(String tenant, QuotaPolicy policy, long prompt, long reserve, String why) {
        if (unavailable.compareAndSet(false, true)) {
            log.warn("quota store: Redis at {} unavailable ({}); until it answers, {}", redis.target(), why,
                    settings.rejectWhenUnavailable() ? "calls of tenants with limits are refused with UNAVAILABLE"
                            : "each replica enforces its limits divided by " + settings.replicasHint());
        }
        if (settings.rejectWhenUnavailable()) {
            unavailableRejections.increment();
            return QuotaDecision.refused(RejectionReason.UNAVAILABLE,
                    Status.UNAVAILABLE.withDescription("quota store unavailable, tenant " + tenant + " not admitted"));
        }
        fallbacks.increment();
        final QuotaDecision local = fallback.tryAdmit(tenant, share(policy, settings.replicasHint()), prompt, reserve);
        if (!local.isAdmitted()) {
            counts(tenant).rejected.get(local.reason()).increment();
            return local;
        }
        counts(tenant).admitted.increment();
        // Counted in Redis too once it is back (the heartbeat puts it there), freed there at the end.
        final String member = replica + ":" + sequence.incrementAndGet();
        track(tenant, policy, member);
        final Admission inner = local.admission();
        return QuotaDecision.admitted(new Admission(tenant, (admission, charged) -> {
            untrack(tenant, member);
            counts(tenant).charged.add(charged);
            inner.settle(charged, false);
            settle(tenant, policy, member, 0);
        }, prompt, reserve));
    }

    private void available() {
        if (unavailable.compareAndSet(true, false)) {
            log.info("quota store: Redis at {} answers again; limits are shared again", redis.target());
        }
    }

    /** Each replica's share of {@code policy}'s limits, never below 1. */
    static QuotaPolicy share(QuotaPolicy policy, int replicas) {
        return new QuotaPolicy(part(policy.requestsPerMinute(), replicas), part(policy.burst(), replicas),
                part(policy.concurrent(), replicas), part(policy.tokensPerMinute(), replicas),
                part(policy.tokensPerDay(), replicas), policy.maxNewTokens(), policy.maxPriority(), policy.models());
    }

    private static long part(long limit, int replicas) {
        return limit == QuotaPolicy.UNLIMITED || limit == 0 ? limit : Math.max(1, limit / replicas);
    }

    private void settle(String tenant, QuotaPolicy policy, String member, long unused) {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return; // its slot expires with the lease; unused tokens stay charged, erring towards refusing
        }
        final List<String> keys = keys(tenant);
        final List<String> args = new ArrayList<>(8);
        args.add(member);
        args.add(Long.toString(Math.max(0, unused)));
        bucketArgs(args, policy.tokensPerMinute(), policy.tokensPerMinute(), MINUTE);
        bucketArgs(args, policy.tokensPerDay(), policy.tokensPerDay(), DAY);
        RedisScripts.run(commands, RedisScripts.SETTLE, List.of(keys.get(1), keys.get(2), keys.get(3)), args)
                .whenComplete((ok, e) -> {
                    if (e != null) {
                        log.debug("quota store: settlement of a call of tenant {} not written: {}", tenant, e.toString());
                    }
                });
    }

    /** An admission Redis made after its caller stopped waiting: nothing of it is used. */
    private void release(String tenant, QuotaPolicy policy, String member, long reserve) {
        settle(tenant, policy, member, reserve);
    }

    private void renewLeases() {
        try {
            if (live.isEmpty()) {
                return;
            }
            final RedisClusterAsyncCommands<String, String> commands = redis.commands();
            if (commands == null) {
                return;
            }
            final String lease = Long.toString(settings.lease().toMillis());
            for (Map.Entry<String, Set<String>> e : live.entrySet()) {
                final List<String> args = new ArrayList<>(e.getValue().size() + 1);
                args.add(lease);
                args.addAll(e.getValue());
                if (args.size() > 1) {
                    RedisScripts.run(commands, RedisScripts.HEARTBEAT, List.of(keys(e.getKey()).get(3)), args);
                }
            }
        } catch (RuntimeException e) {
            log.debug("quota store: lease renewal failed: {}", e.toString());
        }
    }

    private void track(String tenant, QuotaPolicy policy, String member) {
        if (policy.concurrent() != QuotaPolicy.UNLIMITED) {
            live.computeIfAbsent(tenant, t -> ConcurrentHashMap.newKeySet()).add(member);
        }
    }

    private void untrack(String tenant, String member) {
        live.computeIfPresent(tenant, (t, members) -> {
            members.remove(member);
            return members.isEmpty() ? null : members;
        });
    }

    /** The shared counts, or null when Redis does not answer within the timeout. */
    private CompletionStage<List<?>> sharedUsage(String tenant, QuotaPolicy policy) {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return CompletableFuture.completedFuture(null);
        }
        final List<String> args = new ArrayList<>(9);
        bucketArgs(args, policy.requestBurst(), policy.requestsPerMinute(), MINUTE);
        bucketArgs(args, policy.tokensPerMinute(), policy.tokensPerMinute(), MINUTE);
        bucketArgs(args, policy.tokensPerDay(), policy.tokensPerDay(), DAY);
        return RedisScripts.run(commands, RedisScripts.USAGE, keys(tenant), args)
                .orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .handle((result, failure) -> failure == null ? (List<?>) result : null);
    }

    private List<String> admitArgs(String member, QuotaPolicy policy, long reserve) {
        final List<String> args = new ArrayList<>(15);
        args.add(member);
        args.add(Long.toString(settings.lease().toMillis()));
        args.add(policy.concurrent() == QuotaPolicy.UNLIMITED ? "-1" : Long.toString(policy.concurrent()));
        bucketArgs(args, policy.requestBurst(), policy.requestsPerMinute(), MINUTE);
        args.add("1");
        bucketArgs(args, reserve == 0 ? QuotaPolicy.UNLIMITED : policy.tokensPerMinute(), policy.tokensPerMinute(), MINUTE);
        args.add(Long.toString(reserve));
        bucketArgs(args, reserve == 0 ? QuotaPolicy.UNLIMITED : policy.tokensPerDay(), policy.tokensPerDay(), DAY);
        args.add(Long.toString(reserve));
        return args;
    }

    private static void bucketArgs(List<String> args, long capacity, long rate, long periodMillis) {
        if (capacity == QuotaPolicy.UNLIMITED || rate == QuotaPolicy.UNLIMITED) {
            args.add("-1");
            args.add("1");
            args.add("1");
            return;
        }
        args.add(Long.toString(Math.max(1, capacity)));
        args.add(Long.toString(Math.max(1, rate)));
        args.add(Long.toString(periodMillis));
    }

    /** The tenant's keys, in one Cluster slot (the tenant is the hash tag): requests, tokens/min, tokens/day, slots. */
    private List<String> keys(String tenant) {
        final String tag = prefix + "{" + tenant.replace("%", "%25").replace("{", "%7B").replace("}", "%7D") + "}:";
        return List.of(tag + "rpm", tag + "tpm", tag + "tpd", tag + "slots");
    }

    private Counts counts(String tenant) {
        final Counts known = counts.get(tenant);
        if (known != null) {
            return known;
        }
        if (counts.size() >= maxTenants) {
            counts.keySet().removeIf(t -> !live.containsKey(t));
        }
        return counts.computeIfAbsent(tenant, t -> new Counts());
    }
}
