package io.cy.coordinator.sidecar;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a backend chooses among its sidecars: the setting {@code balance}. */
public enum Balance {
    LEAST_INFLIGHT("least_inflight"),
    LEAST_LATENCY("least_latency"),
    PREFIX_AFFINITY("prefix_affinity"),
    SESSION_AFFINITY("session_affinity");

    private final String configName;

    Balance(String configName) {
        this.configName = configName;
    }

    /** The name used in configuration and in Control answers. */
    public String configName() {
        return configName;
    }

    /** The policy named {@code name}, or null when there is none. */
    public static Balance fromConfigName(String name) {
        for (Balance balance : values()) {
            if (balance.configName.equals(name)) {
                return balance;
            }
        }
        return null;
    }

    /** The accepted names, for error messages: {@code least_inflight | least_latency | ...}. */
    public static String names() {
        return Arrays.stream(values()).map(Balance::configName).collect(Collectors.joining(" | "));
    }
}
