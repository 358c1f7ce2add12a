package io.cy.coordinator.metrics;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;

/**
 * What every StreamPredict call adds to the metrics, from its {@link CallSummary}: requests,
 * latency, time to first token, tokens, quota rejections and authentication failures. Runs on
 * the thread that ended the call (often an event loop): a few map lookups and atomic adds.
 */
public final class CallMetrics implements CallEndListener {

    /** The backend label of a call refused before a backend was chosen for it. */
    static final String NO_BACKEND = "none";
    private static final String REJECTED = "rejected:";
    private static final double NANOS_PER_MILLI = 1e6;
    private static final double NANOS_PER_SECOND = 1e9;

    private final ObservedMetrics metrics;
    private final ModelLabels models;
    private final TenantLabels tenants;

    public CallMetrics(ObservedMetrics metrics, ModelLabels models, TenantLabels tenants) {
        this.metrics = requireNonNull(metrics, "metrics");
        this.models = requireNonNull(models, "models");
        this.tenants = requireNonNull(tenants, "tenants");
    }

    @Override
    public void onCallEnd(CallSummary s) {
        final String quota = s.quotaDecision();
        if (quota.startsWith(REJECTED)) {
            metrics.quotaRejections.labelValues(tenants.label(s.tenant()), quota.substring(REJECTED.length())).inc();
        }
        final String authFailure = AuthFailureReasons.of(s);
        if (authFailure != null) {
            metrics.authFailures.labelValues(authFailure).inc();
        }
        if (!"StreamPredict".equals(s.method())) {
            // Control and Health calls refused at the door are counted above, not as requests.
            return;
        }
        if (!s.degraded().isEmpty()) {
            // "fallback; from=…" or "reject; from=…": the mode is the first word.
            final int end = s.degraded().indexOf(';');
            metrics.degraded.labelValues(models.label(s.alias()),
                    end < 0 ? s.degraded() : s.degraded().substring(0, end)).inc();
        }
        final String model = models.label(s.model());
        final String backend = s.backend().isEmpty() ? NO_BACKEND : s.backend();
        metrics.requests.labelValues(s.api(), model, backend, s.status().getCode().name()).inc();
        metrics.latency.labelValues(s.api(), model, backend).observe(s.durationNanos() / NANOS_PER_MILLI);
        if (s.timeToFirstChunkNanos() >= 0) {
            metrics.ttft.labelValues(model, backend).observe(s.timeToFirstChunkNanos() / NANOS_PER_SECOND);
        }
        if (!s.sidecar().isEmpty()) {
            final String tenant = tenants.label(s.tenant());
            metrics.tokens.labelValues(tenant, model, "prompt").inc(s.promptTokens());
            metrics.tokens.labelValues(tenant, model, "completion").inc(s.chunks());
        }
    }
}
