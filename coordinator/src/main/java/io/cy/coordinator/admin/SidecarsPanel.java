package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.coordinator.sidecar.BackendQueue;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * {@code GET /admin/api/sidecars}: per backend its queue, and each sidecar's address, health and
 * reason, ejection, draining, calls in flight and calls per second; what {@code list_sidecars}
 * reports, grouped for the page.
 */
final class SidecarsPanel implements Panel {

    private final SidecarPool sidecars;
    private final SidecarCallCounts calls;

    SidecarsPanel(SidecarPool sidecars, SidecarCallCounts calls) {
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.calls = requireNonNull(calls, "calls");
    }

    @Override
    public ObjectNode read(Map<String, String> query) {
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        final ArrayNode backends = out.putArray("backends");
        for (String id : sidecars.backendIds()) {
            final ObjectNode backend = backends.addObject();
            final BackendQueue queue = sidecars.queue(id);
            backend.put("id", id);
            backend.put("queue_depth", queue.depth());
            backend.put("queue_wait_p50_ms", queue.waitP50Millis());
            final ArrayNode list = backend.putArray("sidecars");
            for (Sidecar s : sidecars.backend(id)) {
                final ObjectNode sidecar = list.addObject();
                // Read once: an ejection that ends between two reads would otherwise half show.
                final Instant ejectedUntil = s.ejectedUntil();
                final String ejection = ejectedUntil == null ? "" : s.lastEjectionReason();
                sidecar.put("addr", s.endpoint().toString());
                sidecar.put("healthy", s.isHealthy());
                sidecar.put("reason", s.reason().isEmpty() ? ejection
                        : ejection.isEmpty() ? s.reason() : s.reason() + "; " + ejection);
                sidecar.put("ejected", ejectedUntil != null);
                sidecar.put("ejected_until", ejectedUntil == null ? ""
                        : ejectedUntil.truncatedTo(ChronoUnit.MILLIS).toString());
                sidecar.put("draining", s.isDraining());
                sidecar.put("inflight", s.inflight());
                sidecar.put("max_inflight", s.maxInflight());
                sidecar.put("calls_per_second", Math.round(calls.callsPerSecond(s.toString()) * 1000) / 1000.0);
            }
        }
        return out;
    }
}
