package io.cy.coordinator.logs;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The access log for {@code logging.format: json}: the same line per call as the text access
 * log, on logger {@code cy.access}, with each field a key-value pair (JSON keys under the
 * encoder's {@code kvpList}) and the call's trace id in the MDC as {@code trace_id}.
 */
public final class JsonAccessLog implements CallEndListener {

    /** The MDC key of the call's trace id. */
    public static final String TRACE_ID = "trace_id";

    private final Logger logger;

    public JsonAccessLog() {
        this(LoggerFactory.getLogger("cy.access"));
    }

    JsonAccessLog(Logger logger) {
        this.logger = requireNonNull(logger, "logger");
    }

    @Override
    public void onCallEnd(CallSummary s) {
        if (!logger.isInfoEnabled()) {
            return;
        }
        LoggingEventBuilder line = logger.atInfo()
                .addKeyValue("method", s.method())
                .addKeyValue("api", s.api())
                .addKeyValue("trace_id", s.traceId())
                .addKeyValue("model", s.model())
                .addKeyValue("sidecar", s.sidecar())
                .addKeyValue("status", s.status().getCode().name());
        if (!s.status().isOk() && s.status().getDescription() != null) {
            line = line.addKeyValue("error", s.status().getDescription());
        }
        line = line.addKeyValue("chunks", s.chunks())
                .addKeyValue("ttfc_ms", s.timeToFirstChunkNanos() < 0 ? null : s.timeToFirstChunkNanos() / 1e6)
                .addKeyValue("duration_ms", s.durationNanos() / 1e6)
                .addKeyValue("peer", s.peer())
                .addKeyValue("tenant", s.tenant())
                .addKeyValue("subject", s.identity() == null ? "" : s.identity().subject());
        if (s.cancelledByClient()) {
            line = line.addKeyValue("client_cancelled", true);
        }
        // The forwarder has usually put it there already; only what is put here is taken out again.
        final boolean put = MDC.get(TRACE_ID) == null;
        if (put) {
            MDC.put(TRACE_ID, s.traceId());
        }
        try {
            line.log("access");
        } finally {
            if (put) {
                MDC.remove(TRACE_ID);
            }
        }
    }
}
