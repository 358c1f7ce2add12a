package io.cy.coordinator.config;

/** Invalid configuration; the message names the setting, the value and what was expected. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String path, String problem) {
        super(path + ": " + problem);
    }
}
