package io.cy.coordinator.metrics;

import static java.util.Objects.requireNonNull;

import io.cy.audit.AuditLog;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.webhook.DeliveryCounters;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.LongSupplier;

/**
 * Every metric the coordinator exports, registered in one {@link PrometheusRegistry} of its own
 * (never the library's default registry, so two coordinators in one JVM do not share counts).
 * Counters updated per call are fields; gauges are read from their sources at scrape time.
 */
public final class ObservedMetrics {

    /** Whole-call latency buckets in milliseconds, 1 ms to one minute. */
    static final double[] LATENCY_MS_BUCKETS = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
            30000, 60000};
    /** Time to first token in seconds: 5 ms to one minute. */
    static final double[] TTFT_SECONDS_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry;
    final Counter requests;
    final Histogram latency;
    final Histogram ttft;
    final Counter tokens;
    final Counter quotaRejections;
    final Counter authFailures;
    final Counter webhookSuccess;
    final Counter webhookFailure;
    final Counter degraded;

    private ObservedMetrics(PrometheusRegistry registry) {
        this.registry = registry;
        requests = Counter.builder().name("llmproxy_requests_total")
                .help("StreamPredict calls by API, model, backend and gRPC status")
                .labelNames("api", "model", "backend", "code").withoutExemplars().register(registry);
        latency = Histogram.builder().name("llmproxy_latency_ms")
                .help("Whole StreamPredict call, from its start to its end, in milliseconds")
                .labelNames("api", "model", "backend").classicOnly().classicUpperBounds(LATENCY_MS_BUCKETS)
                .withoutExemplars().register(registry);
        ttft = Histogram.builder().name("cy_ttft_seconds")
                .help("Time from the call's start to its first response message")
                .labelNames("model", "backend").classicOnly().classicUpperBounds(TTFT_SECONDS_BUCKETS)
                .withoutExemplars().register(registry);
        tokens = Counter.builder().name("cy_tokens_total")
                .help("Tokens of calls a sidecar served: prompt (estimated) and completion (chunks delivered)")
                .labelNames("tenant", "model", "kind").withoutExemplars().register(registry);
        quotaRejections = Counter.builder().name("cy_quota_rejections_total")
                .help("Calls refused by a quota, by tenant and limit")
                .labelNames("tenant", "reason").withoutExemplars().register(registry);
        authFailures = Counter.builder().name("cy_auth_failures_total")
                .help("Calls refused for their credentials")
                .labelNames("reason").withoutExemplars().register(registry);
        webhookSuccess = Counter.builder().name("llmproxy_webhook_success_total")
                .help("Usage webhook requests delivered").withoutExemplars().register(registry);
        webhookFailure = Counter.builder().name("llmproxy_webhook_failure_total")
                .help("Usage webhook attempts that failed, and batches given up (dropped)")
                .labelNames("reason").withoutExemplars().register(registry);
        // Zero from the start, so that rate() and alerts see the series before the first failure.
        for (String reason : new String[] {"connect", "timeout", "http_5xx", "http_4xx", "dropped"}) {
            webhookFailure.initLabelValues(reason);
        }
        degraded = Counter.builder().name("cy_degraded_total")
                .help("Calls an alias's degrade policy applied to, by alias and mode (fallback, reject)")
                .labelNames("alias", "mode").withoutExemplars().register(registry);
    }

    /** The per-call metrics, in a registry of their own. */
    public static ObservedMetrics create() {
        return new ObservedMetrics(new PrometheusRegistry());
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Adds the gauges read at scrape time: sidecars, the audit log, the route version, spans the
     * tracing dropped, the JVM and Netty's memory.
     */
    public ObservedMetrics watch(SidecarPool sidecars, AuditLog audit, LongSupplier routeVersion,
                                 LongSupplier droppedSpans) {
        requireNonNull(sidecars, "sidecars");
        requireNonNull(droppedSpans, "droppedSpans");
        requireNonNull(audit, "audit");
        requireNonNull(routeVersion, "routeVersion");
        GaugeWithCallback.builder().name("cy_inflight").help("Calls in flight per sidecar")
                .labelNames("backend", "sidecar")
                .callback(cb -> {
                    for (Sidecar s : sidecars.all()) {
                        cb.call(s.inflight(), sidecars.backendOf(s), s.toString());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("cy_sidecar_up").help("1 when the sidecar takes calls (healthy, not ejected)")
                .labelNames("backend", "sidecar")
                .callback(cb -> {
                    for (Sidecar s : sidecars.all()) {
                        cb.call(s.isHealthy() && !s.refusesToken() ? 1 : 0, sidecars.backendOf(s), s.toString());
                    }
                }).register(registry);
        CounterWithCallback.builder().name("cy_audit_events_total")
                .help("Audit events written to the database, appended to the spool, or dropped")
                .labelNames("outcome")
                .callback(cb -> {
                    final var counts = audit.counts();
                    cb.call(counts.written(), "written");
                    cb.call(counts.spooled(), "spooled");
                    cb.call(counts.dropped(), "dropped");
                }).register(registry);
        GaugeWithCallback.builder().name("cy_audit_queue_depth").help("Audit events waiting in memory")
                .callback(cb -> cb.call(audit.counts().queueDepth())).register(registry);
        GaugeWithCallback.builder().name("cy_route_version").help("Version of the routes in force")
                .callback(cb -> cb.call(routeVersion.getAsLong())).register(registry);
        CounterWithCallback.builder().name("cy_trace_spans_dropped_total")
                .help("Spans the tracing batch processor dropped because its queue was full")
                .callback(cb -> cb.call(droppedSpans.getAsLong())).register(registry);
        nettyMemory();
        JvmMetrics.builder().register(registry);
        return this;
    }

    private void nettyMemory() {
        GaugeWithCallback.builder().name("netty_direct_memory_used_bytes")
                .help("Direct memory Netty counts as used (-1 when it does not count it)")
                .callback(cb -> cb.call(PlatformDependent.usedDirectMemory())).register(registry);
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            final ByteBufAllocatorMetric allocator = provider.metric();
            GaugeWithCallback.builder().name("netty_allocator_used_bytes")
                    .help("Memory held by Netty's default buffer allocator")
                    .labelNames("type")
                    .callback(cb -> {
                        cb.call(allocator.usedHeapMemory(), "heap");
                        cb.call(allocator.usedDirectMemory(), "direct");
                    }).register(registry);
        }
    }

    /** What the usage webhook delivered and what failed, as {@code llmproxy_webhook_*_total}. */
    public DeliveryCounters webhookCounters() {
        return new DeliveryCounters() {
            @Override
            public void delivered() {
                webhookSuccess.inc();
            }

            @Override
            public void failed(String reason, long count) {
                webhookFailure.labelValues(reason).inc(count);
            }
        };
    }
}
