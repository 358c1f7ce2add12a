package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * {@code GET /admin/api/calls?tenant=&status=&model=}: the last 100 calls that pass the filters,
 * newest first, each with its trace id; {@code source} says whether they come from the audit log
 * or from memory.
 */
final class CallsPanel implements Panel {

    private final CallSource source;

    CallsPanel(CallSource source) {
        this.source = requireNonNull(source, "source");
    }

    @Override
    public ObjectNode read(Map<String, String> query) {
        final CallFilter filter = CallFilter.of(query);
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("source", source.name());
        final ArrayNode calls = out.putArray("calls");
        for (CallRow row : source.recent(filter)) {
            final ObjectNode call = calls.addObject();
            call.put("time", row.time().toString());
            call.put("trace_id", row.traceId());
            call.put("kind", row.kind());
            call.put("api", row.api());
            call.put("tenant", row.tenant());
            call.put("model", row.model());
            call.put("alias", row.alias());
            call.put("backend", row.backend());
            call.put("sidecar", row.sidecar());
            call.put("status", row.status());
            call.put("message", row.message());
            if (row.durationMs() == null) {
                call.putNull("duration_ms");
            } else {
                call.put("duration_ms", Math.round(row.durationMs() * 10) / 10.0);
            }
            if (row.ttftMs() == null) {
                call.putNull("ttft_ms");
            } else {
                call.put("ttft_ms", Math.round(row.ttftMs() * 10) / 10.0);
            }
            call.put("chunks", row.chunks());
        }
        return out;
    }
}
