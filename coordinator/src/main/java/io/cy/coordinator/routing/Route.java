package io.cy.coordinator.routing;

import io.cy.coordinator.sidecar.Sidecar;
import java.util.List;

/**
 * Where a call goes: its backends in order of preference (one, except for a bare model id served
 * by several), the model id forwarded, and the table it was resolved with.
 *
 * @param alias the alias the request named (or {@code default} for an empty model id); empty when none
 * @param hinted the sidecar {@code worker_hint} named, tried first; null when none
 * @param note what the access log should say about the call's hint; empty when nothing
 */
public record Route(RouteTable table, String alias, List<String> backends, String model, String adapter,
                    Sidecar hinted, String note) {

    public Route {
        backends = List.copyOf(backends);
    }

    /** The first backend: the one a call that never reached a sidecar is recorded under. */
    public String backend() {
        return backends.get(0);
    }
}
