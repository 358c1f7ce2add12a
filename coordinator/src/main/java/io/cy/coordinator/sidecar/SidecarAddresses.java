package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecars a backend's addresses stand for: a {@code dns:///host:port} address is every
 * address its name resolved to at the last {@link #refresh}, so that the workers behind a
 * Kubernetes headless Service join and leave as it scales. Lookups block, so {@link #refresh}
 * runs on a thread of its own, never on an event loop; {@link #expand} only reads what it found.
 */
public final class SidecarAddresses {

    private static final Logger logger = LoggerFactory.getLogger(SidecarAddresses.class);
    /** More addresses than this from one name are ignored: a misconfigured name cannot open thousands of connections. */
    static final int MAX_ADDRESSES_PER_NAME = 256;

    /** Looks a host name up; {@link InetAddress#getAllByName} but for tests. */
    @FunctionalInterface
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;
    }

    private final Resolver resolver;
    // What each dns:/// address resolved to last; bounded by the configured addresses.
    private final Map<Endpoint, List<Endpoint>> resolved = new ConcurrentHashMap<>();

    public SidecarAddresses(Resolver resolver) {
        this.resolver = requireNonNull(resolver, "resolver");
    }

    /** Resolves with the JVM's resolver (which caches for {@code networkaddress.cache.ttl}). */
    public static SidecarAddresses system() {
        return new SidecarAddresses(host -> List.of(InetAddress.getAllByName(host)));
    }

    /**
     * Each backend's sidecars: its addresses, a {@code dns:///} one replaced by what it resolved
     * to (or kept as it is while it never resolved, so that the sidecar reports the failure).
     */
    public Map<String, List<Endpoint>> expand(Map<String, List<Endpoint>> backends) {
        final Map<String, List<Endpoint>> out = new LinkedHashMap<>();
        backends.forEach((backend, addresses) -> {
            final Set<Endpoint> expanded = new LinkedHashSet<>();
            for (Endpoint address : addresses) {
                final List<Endpoint> found = address.isDns() ? resolved.get(address) : null;
                if (found == null || found.isEmpty()) {
                    expanded.add(address);
                } else {
                    expanded.addAll(found);
                }
            }
            out.put(backend, List.copyOf(expanded));
        });
        return out;
    }

    /**
     * Looks up every {@code dns:///} address of {@code backends} again; returns whether what any
     * of them stands for changed. A name that fails to resolve keeps its last addresses.
     */
    public boolean refresh(Map<String, List<Endpoint>> backends) {
        boolean changed = false;
        final Set<Endpoint> names = new LinkedHashSet<>();
        backends.values().forEach(addresses -> addresses.stream().filter(Endpoint::isDns).forEach(names::add));
        for (Endpoint name : names) {
            final List<Endpoint> found;
            try {
                found = lookUp(name);
            } catch (UnknownHostException | RuntimeException e) {
                logger.warn("sidecar address {} did not resolve ({}); keeping {}", name, e.toString(),
                        resolved.getOrDefault(name, List.of(name)));
                continue;
            }
            if (!found.equals(resolved.put(name, found))) {
                changed = true;
            }
        }
        // Names no longer configured are forgotten.
        changed |= resolved.keySet().retainAll(names);
        return changed;
    }

    private List<Endpoint> lookUp(Endpoint name) throws UnknownHostException {
        final Set<Endpoint> found = new LinkedHashSet<>();
        for (InetAddress address : resolver.resolve(name.host())) {
            if (found.size() == MAX_ADDRESSES_PER_NAME) {
                logger.warn("sidecar address {} resolved to more than {} addresses; the rest are ignored", name,
                        MAX_ADDRESSES_PER_NAME);
                break;
            }
            found.add(name.resolved(address));
        }
        if (found.isEmpty()) {
            throw new UnknownHostException(name.host() + ": no address");
        }
        // Sorted, so that the same answer in another order is no change.
        final List<Endpoint> sorted = new ArrayList<>(found);
        sorted.sort((a, b) -> a.toString().compareTo(b.toString()));
        return List.copyOf(sorted);
    }
}
