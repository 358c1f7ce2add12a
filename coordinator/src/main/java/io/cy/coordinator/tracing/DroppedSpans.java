package io.cy.coordinator.tracing;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricReader;

/**
 * Reads, from the SDK's own metrics, how many spans its batch span processor dropped because its
 * queue was full, for {@code cy_trace_spans_dropped_total}. The SDK records them on the meter
 * provider it is given; this reader is registered there and reads them only when scraped.
 */
final class DroppedSpans implements MetricReader {

    /** The processor's counter: the legacy name with {@code dropped}, and the semantic-convention one with {@code error.type}. */
    private static final String LEGACY = "processedSpans";
    private static final String CURRENT = "otel.sdk.processor.span.processed";
    private static final AttributeKey<Boolean> DROPPED = AttributeKey.booleanKey("dropped");
    private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    private volatile CollectionRegistration registration = CollectionRegistration.noop();

    @Override
    public void register(CollectionRegistration registration) {
        this.registration = registration;
    }

    @Override
    public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
        return AggregationTemporality.CUMULATIVE;
    }

    /** Spans dropped since start. */
    long count() {
        long dropped = 0;
        for (MetricData metric : registration.collectAllMetrics()) {
            if (!metric.getName().equals(LEGACY) && !metric.getName().equals(CURRENT)) {
                continue;
            }
            for (LongPointData point : metric.getLongSumData().getPoints()) {
                if (isDrop(point.getAttributes())) {
                    dropped += point.getValue();
                }
            }
        }
        return dropped;
    }

    private static boolean isDrop(Attributes attributes) {
        return Boolean.TRUE.equals(attributes.get(DROPPED)) || attributes.get(ERROR_TYPE) != null;
    }

    @Override
    public CompletableResultCode forceFlush() {
        return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
    }
}
