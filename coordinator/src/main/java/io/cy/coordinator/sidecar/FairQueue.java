package io.cy.coordinator.sidecar;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The order in which waiting calls get a free slot: the highest priority band first; within a
 * band, deficit round robin over the tenants that have calls waiting, each call costing one
 * quantum, so every tenant with calls waiting gets one call through per round however many it
 * queued. Not thread-safe: {@link BackendQueue} guards it.
 */
final class FairQueue<T> {

    /** One priority's calls, by tenant, and the turn among the tenants. */
    private static final class Band<T> {
        private final Map<String, ArrayDeque<T>> byTenant = new HashMap<>();
        // Tenants with calls waiting, the one whose turn it is first.
        private final ArrayDeque<String> turns = new ArrayDeque<>();
    }

    // Highest priority first.
    private final TreeMap<Integer, Band<T>> bands = new TreeMap<>(Collections.reverseOrder());
    private int size;

    void add(String tenant, int priority, T item) {
        final Band<T> band = bands.computeIfAbsent(priority, p -> new Band<>());
        final ArrayDeque<T> calls = band.byTenant.computeIfAbsent(tenant, t -> new ArrayDeque<>());
        if (calls.isEmpty()) {
            band.turns.addLast(tenant);
        }
        calls.addLast(item);
        size++;
    }

    /** The call whose turn it is, or null. */
    T peek() {
        if (size == 0) {
            return null;
        }
        final Band<T> band = bands.firstEntry().getValue();
        return band.byTenant.get(band.turns.peekFirst()).peekFirst();
    }

    /** Takes the call whose turn it is; its tenant goes to the back of the band's turn. */
    T poll() {
        if (size == 0) {
            return null;
        }
        final Map.Entry<Integer, Band<T>> first = bands.firstEntry();
        final Band<T> band = first.getValue();
        final String tenant = band.turns.pollFirst();
        final ArrayDeque<T> calls = band.byTenant.get(tenant);
        final T item = calls.pollFirst();
        if (calls.isEmpty()) {
            band.byTenant.remove(tenant);
        } else {
            band.turns.addLast(tenant);
        }
        if (band.turns.isEmpty()) {
            bands.remove(first.getKey());
        }
        size--;
        return item;
    }

    /** Removes a call that leaves before its turn; false when it is not waiting. */
    boolean remove(String tenant, int priority, T item) {
        final Band<T> band = bands.get(priority);
        if (band == null) {
            return false;
        }
        final ArrayDeque<T> calls = band.byTenant.get(tenant);
        if (calls == null || !calls.remove(item)) {
            return false;
        }
        if (calls.isEmpty()) {
            band.byTenant.remove(tenant);
            band.turns.remove(tenant);
            if (band.turns.isEmpty()) {
                bands.remove(priority);
            }
        }
        size--;
        return true;
    }

    int size() {
        return size;
    }
}
