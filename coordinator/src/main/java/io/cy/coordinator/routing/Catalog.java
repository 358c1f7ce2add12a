package io.cy.coordinator.routing;

import io.cy.coordinator.sidecar.Sidecar;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each sidecar said it serves in its last {@code list_models} answer: models and loaded
 * adapters. Written by the health prober's thread, read by every call.
 */
public final class Catalog {

    /** Bounds on what one sidecar's answer may add, so a misbehaving one cannot grow the heap. */
    static final int MAX_ENTRIES_PER_SIDECAR = 1024;
    static final int MAX_NAME_CHARS = 256;

    private record Discovered(Set<String> models, Set<String> adapters) {}

    private static final Discovered NOTHING = new Discovered(Set.of(), Set.of());

    private final Map<Sidecar, Discovered> bySidecar = new ConcurrentHashMap<>();

    /** Replaces what {@code sidecar} serves; returns whether it changed. */
    public boolean record(Sidecar sidecar, Collection<String> models, Collection<String> adapters) {
        final Discovered fresh = new Discovered(bounded(models), bounded(adapters));
        return !fresh.equals(bySidecar.put(sidecar, fresh));
    }

    public boolean serves(Sidecar sidecar, String model) {
        return bySidecar.getOrDefault(sidecar, NOTHING).models().contains(model);
    }

    public boolean hasAdapter(Sidecar sidecar, String adapter) {
        return bySidecar.getOrDefault(sidecar, NOTHING).adapters().contains(adapter);
    }

    /** Forgets the sidecars not in {@code sidecars}: those that left the pool. */
    public void retainOnly(Collection<Sidecar> sidecars) {
        final Set<Sidecar> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        kept.addAll(sidecars);
        bySidecar.keySet().removeIf(sidecar -> !kept.contains(sidecar));
    }

    /** Whether any sidecar said it serves {@code model}. */
    public boolean servedAnywhere(String model) {
        for (Discovered discovered : bySidecar.values()) {
            if (discovered.models().contains(model)) {
                return true;
            }
        }
        return false;
    }

    /** The union of what {@code sidecars} serve, sorted. */
    public Set<String> models(List<Sidecar> sidecars) {
        final Set<String> union = new TreeSet<>();
        for (Sidecar sidecar : sidecars) {
            union.addAll(bySidecar.getOrDefault(sidecar, NOTHING).models());
        }
        return union;
    }

    /** The adapters {@code sidecar} has loaded, sorted. */
    public Set<String> adapters(Sidecar sidecar) {
        return new TreeSet<>(bySidecar.getOrDefault(sidecar, NOTHING).adapters());
    }

    private static Set<String> bounded(Collection<String> names) {
        final Set<String> out = new TreeSet<>();
        for (String name : names) {
            final String trimmed = name.trim();
            if (!trimmed.isEmpty() && trimmed.length() <= MAX_NAME_CHARS && out.size() < MAX_ENTRIES_PER_SIDECAR) {
                out.add(trimmed);
            }
        }
        return Set.copyOf(out);
    }
}
