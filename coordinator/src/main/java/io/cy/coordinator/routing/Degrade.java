package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Locale;

/**
 * What an alias does when its target cannot serve a call: no healthy sidecar, all ejected, or a
 * queue that is full or would keep the call past {@code max_wait}.
 *
 * @param fallback the targets tried in order under {@link Mode#FALLBACK}; kept under the other
 *     modes, so that {@code degrade_set} can switch back to fallback
 */
public record Degrade(Mode mode, List<RouteTarget> fallback) {

    public static final Degrade OFF = new Degrade(Mode.OFF, List.of());

    public enum Mode {
        /** Today's behaviour: UNAVAILABLE naming the sidecars, or the queue's refusal. */
        OFF,
        /** The first available fallback serves, and the response says so in {@code cy-degraded}. */
        FALLBACK,
        /** A refusal with retry pushback: UNAVAILABLE when nothing is healthy, RESOURCE_EXHAUSTED for the queue. */
        REJECT;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The mode named {@code name}, or null. */
        public static Mode fromConfigName(String name) {
            for (Mode mode : values()) {
                if (mode.configName().equals(name)) {
                    return mode;
                }
            }
            return null;
        }
    }

    /** Why a call was degraded, as {@code cy-degraded} names it. */
    public enum Reason {
        NO_HEALTHY_SIDECAR, ALL_EJECTED, QUEUE_FULL;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Degrade {
        requireNonNull(mode, "mode");
        fallback = List.copyOf(fallback);
    }

    public Degrade withMode(Mode mode) {
        return new Degrade(mode, fallback);
    }
}
