package io.cy.coordinator.routing;

import java.util.Locale;

/** What keeps a caller on one canary arm and one sidecar: the setting {@code routes.sticky_key}. */
public enum StickyKey {
    TENANT, SESSION, NONE;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The key named {@code name}, or null. */
    public static StickyKey fromConfigName(String name) {
        for (StickyKey key : values()) {
            if (key.configName().equals(name)) {
                return key;
            }
        }
        return null;
    }
}
