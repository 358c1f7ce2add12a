package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.sidecar.SidecarPool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.ToDoubleFunction;

/**
 * {@code GET /admin/api/overview}: version, uptime, the latest interval's rates and percentiles,
 * and the last 15 minutes as columns (one array per figure, as charts take them).
 */
final class OverviewPanel implements Panel {

    private final String version;
    private final Instant started;
    private final Clock clock;
    private final MetricsHistory history;
    private final SidecarPool sidecars;
    private final Routing routing;
    private final IntSupplier activeCalls;

    OverviewPanel(String version, Clock clock, MetricsHistory history, SidecarPool sidecars, Routing routing,
                  IntSupplier activeCalls) {
        this.version = requireNonNull(version, "version");
        this.clock = requireNonNull(clock, "clock");
        this.started = clock.instant();
        this.history = requireNonNull(history, "history");
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.routing = requireNonNull(routing, "routing");
        this.activeCalls = requireNonNull(activeCalls, "activeCalls");
    }

    @Override
    public ObjectNode read(Map<String, String> query) {
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("version", version);
        out.put("started_at", started.toString());
        out.put("uptime_seconds", Duration.between(started, clock.instant()).toSeconds());
        out.put("interval_seconds", MetricsSampler.INTERVAL.toSeconds());
        out.put("active_calls", activeCalls.getAsInt());
        out.put("sidecars", sidecars.all().size());
        out.put("sidecars_available", sidecars.availableCount());
        out.put("route_version", routing.active().version());
        final List<MetricsHistory.Sample> samples = history.samples();
        final ObjectNode now = out.putObject("now");
        final MetricsHistory.Sample last = samples.isEmpty() ? null : samples.get(samples.size() - 1);
        for (Figure figure : Figure.values()) {
            number(now, figure.key, last == null ? Double.NaN : figure.value.applyAsDouble(last));
        }
        final ObjectNode series = out.putObject("series");
        final ArrayNode time = series.putArray("time");
        samples.forEach(sample -> time.add(sample.time().getEpochSecond()));
        for (Figure figure : Figure.values()) {
            final ArrayNode values = series.putArray(figure.key);
            samples.forEach(sample -> add(values, figure.value.applyAsDouble(sample)));
        }
        return out;
    }

    /** The figures of a sample, under their JSON names. */
    private enum Figure {
        CALLS("calls_per_second", MetricsHistory.Sample::callsPerSecond),
        ERRORS("errors_per_second", MetricsHistory.Sample::errorsPerSecond),
        TOKENS("tokens_per_second", MetricsHistory.Sample::tokensPerSecond),
        TTFT_P50("ttft_p50_ms", MetricsHistory.Sample::ttftP50Ms),
        TTFT_P99("ttft_p99_ms", MetricsHistory.Sample::ttftP99Ms),
        LATENCY_P50("latency_p50_ms", MetricsHistory.Sample::latencyP50Ms),
        LATENCY_P99("latency_p99_ms", MetricsHistory.Sample::latencyP99Ms);

        final String key;
        final ToDoubleFunction<MetricsHistory.Sample> value;

        Figure(String key, ToDoubleFunction<MetricsHistory.Sample> value) {
            this.key = key;
            this.value = value;
        }
    }

    /** NaN (no call in the interval) as null; three decimals are more than a chart shows. */
    private static void number(ObjectNode node, String key, double value) {
        if (Double.isNaN(value)) {
            node.putNull(key);
        } else {
            node.put(key, Math.round(value * 1000) / 1000.0);
        }
    }

    private static void add(ArrayNode array, double value) {
        if (Double.isNaN(value)) {
            array.addNull();
        } else {
            array.add(Math.round(value * 1000) / 1000.0);
        }
    }
}
