package io.cy.coordinator.admin;

import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import java.util.ArrayList;
import java.util.List;

/**
 * The last {@value #CAPACITY} calls in memory, for the console's recent calls when there is no
 * audit database to ask. Fed as calls end: one small record and a short lock per call.
 */
public final class RecentCalls implements CallEndListener, CallSource {

    static final int CAPACITY = 100;
    private static final double NANOS_PER_MILLI = 1e6;

    private final CallRow[] ring = new CallRow[CAPACITY];
    private int next;

    @Override
    public void onCallEnd(CallSummary s) {
        final boolean rejected = !s.status().isOk() && !"admitted".equals(s.quotaDecision());
        final String message = s.status().getDescription();
        final CallRow row = new CallRow(s.startTime().plusNanos(s.durationNanos()), s.traceId(),
                rejected ? "rejected" : "call", s.api(), s.tenant(), s.model(), s.alias(), s.backend(), s.sidecar(),
                s.status().getCode().name(), message == null ? "" : message, s.durationNanos() / NANOS_PER_MILLI,
                s.timeToFirstChunkNanos() < 0 ? null : s.timeToFirstChunkNanos() / NANOS_PER_MILLI, s.chunks());
        synchronized (ring) {
            ring[next] = row;
            next = (next + 1) % CAPACITY;
        }
    }

    @Override
    public String name() {
        return "memory";
    }

    /** The calls kept that pass {@code filter}, newest first. */
    @Override
    public List<CallRow> recent(CallFilter filter) {
        final List<CallRow> out = new ArrayList<>(CAPACITY);
        synchronized (ring) {
            for (int i = 1; i <= CAPACITY; i++) {
                final CallRow row = ring[(next - i + CAPACITY) % CAPACITY];
                if (row == null) {
                    break;
                }
                if (row.matches(filter)) {
                    out.add(row);
                }
            }
        }
        return out;
    }
}
