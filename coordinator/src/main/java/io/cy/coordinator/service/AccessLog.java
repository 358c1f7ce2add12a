package io.cy.coordinator.service;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One line per call on logger {@code cy.access}, as key=value pairs. */
public final class AccessLog implements CallEndListener {

    private static final Logger logger = LoggerFactory.getLogger("cy.access");

    @Override
    public void onCallEnd(CallSummary s) {
        if (!logger.isInfoEnabled()) {
            return;
        }
        final StringBuilder line = new StringBuilder(192)
                .append("method=").append(s.method())
                .append(" api=").append(s.api())
                .append(" trace_id=").append(s.traceId())
                .append(" model=").append(quoted(s.model()));
        if (!s.alias().isEmpty()) {
            line.append(" alias=").append(quoted(s.alias()));
        }
        if (!s.backend().isEmpty()) {
            line.append(" backend=").append(s.backend());
        }
        if (!s.adapter().isEmpty()) {
            line.append(" adapter=").append(quoted(s.adapter()));
        }
        line
                .append(" sidecar=").append(s.sidecar().isEmpty() ? "-" : s.sidecar())
                .append(" status=").append(s.status().getCode());
        if (!s.status().isOk() && s.status().getDescription() != null) {
            line.append(" error=").append(quoted(s.status().getDescription()));
        }
        line.append(" chunks=").append(s.chunks())
                .append(" ttfc_ms=").append(s.timeToFirstChunkNanos() < 0 ? "-" : millis(s.timeToFirstChunkNanos()))
                .append(" duration_ms=").append(millis(s.durationNanos()))
                .append(" peer=").append(s.peer())
                .append(" tenant=").append(quoted(s.tenant()))
                .append(" subject=").append(s.identity() == null ? "-" : quoted(s.identity().subject()));
        if (!s.note().isEmpty()) {
            line.append(" note=").append(quoted(s.note()));
        }
        if (!s.degraded().isEmpty()) {
            line.append(" degraded=").append(quoted(s.degraded()));
        }
        if (s.cancelledByClient()) {
            line.append(" client_cancelled=true");
        }
        logger.info(line.toString());
    }

    /** Milliseconds with three decimals, without String.format's cost on every call. */
    static String millis(long nanos) {
        final long micros = nanos / 1000;
        final long fraction = micros % 1000;
        return (micros / 1000) + (fraction < 10 ? ".00" : fraction < 100 ? ".0" : ".") + fraction;
    }

    private static String quoted(String s) {
        if (s.isEmpty()) {
            return "-";
        }
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c <= ' ' || c == '"' || c == '\\' || c == '=') {
                return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
            }
        }
        return s;
    }
}
