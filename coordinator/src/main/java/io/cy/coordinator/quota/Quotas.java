package io.cy.coordinator.quota;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Admission of calls against their tenant's policy: the per-call ceilings first (max_new_tokens,
 * priority, models), then the budgets in the {@link QuotaStore}. Policies can change at runtime
 * ({@code quota_set}, a configuration reload) without touching usage or calls in flight.
 */
public final class Quotas {

    private final QuotaStore store;
    private final int defaultMaxNewTokens;
    private final Object policyLock = new Object();
    // Replaced as a whole: admission reads it without a lock.
    private volatile CoordinatorConfig.Quota config;

    /**
     * @param defaultMaxNewTokens what a request with {@code max_new_tokens = 0} reserves when the
     *     tenant has no ceiling (the coordinator's {@code limits.max_new_tokens})
     */
    public Quotas(CoordinatorConfig.Quota config, QuotaStore store, int defaultMaxNewTokens) {
        this.config = requireNonNull(config, "config");
        this.store = requireNonNull(store, "store");
        this.defaultMaxNewTokens = defaultMaxNewTokens;
    }

    /**
     * The prompt's token estimate: its UTF-8 bytes / 4, rounded down (about four bytes a token
     * for English text with common BPE vocabularies; no tokenizer runs in the coordinator).
     */
    public static long estimatePromptTokens(StreamPredictRequest request) {
        // Counted on the prompt as text: the request keeps the text once read, and asking it
        // for the bytes again would encode them afresh.
        final String prompt = request.getPrompt();
        try {
            return com.google.common.base.Utf8.encodedLength(prompt) / 4;
        } catch (IllegalArgumentException e) {
            // An unpaired surrogate (JSON allows one): counted as protobuf encodes it.
            return request.getPromptBytes().size() / 4;
        }
    }

    public QuotaDecision admit(String tenant, StreamPredictRequest request) {
        return admit(tenant, request, java.util.List.of(request.getModelId()));
    }

    /**
     * @param modelNames the names the call's model goes by (as requested, its alias, its
     *     {@code backend/model}); {@code models} allows the call when it lists any of them
     */
    public QuotaDecision admit(String tenant, StreamPredictRequest request, java.util.List<String> modelNames) {
        return admitAsync(tenant, request, modelNames).toCompletableFuture().join();
    }

    /**
     * As {@link #admit}, without waiting for a store in another process (Redis): the decision
     * completes when it answers, at most {@code quota.redis.timeout} later. Ceilings, and the
     * store in memory, decide at once.
     */
    public CompletionStage<QuotaDecision> admitAsync(String tenant, StreamPredictRequest request,
                                                     java.util.List<String> modelNames) {
        final QuotaPolicy policy = config.policyFor(tenant);
        if (!policy.limitsAnything()) {
            return CompletableFuture.completedFuture(QuotaDecision.admitted(new Admission(tenant, (a, charged) -> { }, 0, 0)));
        }
        final QuotaDecision ceiling = ceilingRefusal(tenant, policy, request, modelNames);
        if (ceiling != null) {
            return CompletableFuture.completedFuture(ceiling);
        }
        final long requested = Integer.toUnsignedLong(request.getGeneration().getMaxNewTokens());
        final long prompt = estimatePromptTokens(request);
        final long completion = requested != 0 ? requested
                : policy.maxNewTokens() != QuotaPolicy.UNLIMITED ? policy.maxNewTokens() : defaultMaxNewTokens;
        return store.tryAdmitAsync(tenant, policy, prompt, prompt + completion);
    }

    private QuotaDecision ceilingRefusal(String tenant, QuotaPolicy policy, StreamPredictRequest request,
                                         java.util.List<String> modelNames) {
        final long requested = Integer.toUnsignedLong(request.getGeneration().getMaxNewTokens());
        if (policy.maxNewTokens() != QuotaPolicy.UNLIMITED && requested > policy.maxNewTokens()) {
            return refuse(tenant, policy, RejectionReason.MAX_NEW_TOKENS, Status.INVALID_ARGUMENT.withDescription(
                    "generation.max_new_tokens: " + requested + " (expected: <= " + policy.maxNewTokens()
                            + " for tenant " + tenant + ")"));
        }
        if (policy.maxPriority() != QuotaPolicy.UNLIMITED && request.getPriority() > policy.maxPriority()) {
            return refuse(tenant, policy, RejectionReason.MAX_PRIORITY, Status.INVALID_ARGUMENT.withDescription(
                    "priority: " + request.getPriority() + " (expected: <= " + policy.maxPriority()
                            + " for tenant " + tenant + ")"));
        }
        if (!policy.models().isEmpty() && java.util.Collections.disjoint(policy.models(), modelNames)) {
            return refuse(tenant, policy, RejectionReason.MODEL, Status.PERMISSION_DENIED.withDescription(
                    "model_id: '" + request.getModelId() + "' is not allowed for tenant " + tenant
                            + " (allowed: " + String.join(", ", policy.models()) + ")"));
        }
        return null;
    }

    private QuotaDecision refuse(String tenant, QuotaPolicy policy, RejectionReason reason, Status status) {
        store.countRejection(tenant, policy, reason);
        return QuotaDecision.refused(reason, status);
    }

    /** The tenant's policy and usage, as Control {@code quota_get} answers it. */
    public Map<String, String> describe(String tenant) {
        return describeAsync(tenant).toCompletableFuture().join();
    }

    /** As {@link #describe}, for a caller that must not wait for a shared store. */
    public CompletionStage<Map<String, String>> describeAsync(String tenant) {
        final QuotaPolicy policy = config.policyFor(tenant);
        final Map<String, String> out = new LinkedHashMap<>();
        out.put("tenant", tenant);
        out.put("policy", config.tenants().containsKey(tenant) ? "tenant" : "default");
        out.put("limit.requests_per_minute", show(policy.requestsPerMinute()));
        out.put("limit.burst", show(policy.requestBurst()));
        out.put("limit.concurrent", show(policy.concurrent()));
        out.put("limit.tokens_per_minute", show(policy.tokensPerMinute()));
        out.put("limit.tokens_per_day", show(policy.tokensPerDay()));
        out.put("limit.max_new_tokens", show(policy.maxNewTokens()));
        out.put("limit.max_priority", show(policy.maxPriority()));
        out.put("limit.models", policy.models().isEmpty() ? "all" : String.join(",", policy.models()));
        return store.usageAsync(tenant, policy).thenApply(usage -> {
            usage.forEach((key, value) -> out.put("usage." + key, value));
            return out;
        });
    }

    /** Sets one tenant's policy for new calls; calls in flight keep what they reserved. */
    public void setTenantPolicy(String tenant, QuotaPolicy policy) {
        synchronized (policyLock) {
            final Map<String, QuotaPolicy> tenants = new HashMap<>(config.tenants());
            tenants.put(tenant, policy);
            config = new CoordinatorConfig.Quota(config.defaultPolicy(), Map.copyOf(tenants), config.maxTrackedTenants(),
                    config.store());
        }
    }

    /** Applies reloaded settings to new calls, keeping usage. */
    public void update(CoordinatorConfig.Quota reloaded) {
        synchronized (policyLock) {
            config = requireNonNull(reloaded, "reloaded");
        }
    }

    /**
     * Up to {@code max} tenants, sorted: those with a policy of their own, then those the store
     * tracks now.
     */
    public java.util.List<String> tenants(int max) {
        final java.util.TreeSet<String> names = new java.util.TreeSet<>(config.tenants().keySet());
        names.addAll(store.trackedTenantNames(max));
        return names.stream().limit(max).toList();
    }

    public QuotaPolicy policyFor(String tenant) {
        return config.policyFor(tenant);
    }

    public void reset(String tenant) {
        store.reset(tenant);
    }

    /**
     * As {@link #reset}, for a caller that must not wait for a shared store; completes
     * exceptionally with an {@link IllegalStateException} when the store could not be reached.
     */
    public CompletionStage<Void> resetAsync(String tenant) {
        return store.resetAsync(tenant);
    }

    public Map<String, String> metrics() {
        final Map<String, String> metrics = new LinkedHashMap<>();
        metrics.put("quota_tenants", String.valueOf(store.trackedTenants()));
        metrics.put("quota_rejections", String.valueOf(store.rejections()));
        metrics.putAll(store.metrics());
        return metrics;
    }

    private static String show(long limit) {
        return limit == QuotaPolicy.UNLIMITED ? "unlimited" : String.valueOf(limit);
    }
}
