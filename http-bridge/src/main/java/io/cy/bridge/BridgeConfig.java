package io.cy.bridge;

import static java.util.Objects.requireNonNull;

import io.cy.bridge.internal.ChatTemplate;
import io.cy.coordinator.transport.netty.Endpoint;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the HTTP bridge listens and translates. Immutable and validated on construction: an
 * exception message names the setting, the value and what was expected. Start from
 * {@link #defaults()} or {@link #fromEnvironment(Map)} and derive with the {@code with…} methods.
 *
 * @param listen where the HTTP/1.1 server listens, {@code host:port} (port 0 for an ephemeral one)
 *     or {@code unix:///path}
 * @param maxBodyBytes largest request body accepted; a larger one is answered with 413
 * @param templates chat template per model id: {@code plain}, {@code chatml} or {@code llama3}
 * @param defaultTemplate the template of models not in {@code templates}
 * @param models what {@code GET /v1/models} lists; empty means asking the upstream
 *     ({@code Control list_models}, with the caller's credential)
 * @param upstreamDeadline deadline of each StreamPredict call; null for none
 * @param readyCheck whether {@code GET /readyz} asks the upstream's {@code Health}; when false it
 *     answers ready while the bridge accepts requests
 * @param idleTimeout how long a connection may go without a request (or, while a response is
 *     blocked on a client that does not read, without progress) before it is closed
 */
public record BridgeConfig(
        Endpoint listen,
        int maxBodyBytes,
        Map<String, String> templates,
        String defaultTemplate,
        List<String> models,
        Duration upstreamDeadline,
        boolean readyCheck,
        Duration idleTimeout) {

    /** Overrides the listen address, as in the integration guide. */
    public static final String LISTEN_ENV = "COORDINATOR_HTTP_ADDR";
    public static final Endpoint DEFAULT_LISTEN = Endpoint.tcp("0.0.0.0", 8080);
    public static final int DEFAULT_MAX_BODY_BYTES = 4 << 20;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    /** A body is held in memory whole; beyond this a single request could take the heap. */
    public static final int MAX_BODY_BYTES_LIMIT = 64 << 20;

    public BridgeConfig {
        requireNonNull(listen, "listen");
        requireNonNull(templates, "templates");
        requireNonNull(defaultTemplate, "defaultTemplate");
        requireNonNull(models, "models");
        requireNonNull(idleTimeout, "idleTimeout");
        if (maxBodyBytes < 1 || maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
            throw new IllegalArgumentException(
                    "maxBodyBytes: " + maxBodyBytes + " (expected: in [1, " + MAX_BODY_BYTES_LIMIT + "])");
        }
        for (Map.Entry<String, String> e : templates.entrySet()) {
            checkTemplate("templates." + e.getKey(), e.getValue());
        }
        checkTemplate("defaultTemplate", defaultTemplate);
        for (String model : models) {
            if (model == null || model.isBlank()) {
                throw new IllegalArgumentException("models: " + models + " (expected: non-blank model ids)");
            }
        }
        if (upstreamDeadline != null && (upstreamDeadline.isNegative() || upstreamDeadline.isZero())) {
            throw new IllegalArgumentException("upstreamDeadline: " + upstreamDeadline + " (expected: > 0, or null for none)");
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idleTimeout: " + idleTimeout + " (expected: > 0)");
        }
        templates = Map.copyOf(templates);
        models = List.copyOf(models);
    }

    /** {@code 0.0.0.0:8080}, 4 MiB bodies, template {@code plain}, models from the upstream, no deadline. */
    public static BridgeConfig defaults() {
        return new BridgeConfig(DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, Map.of(), ChatTemplate.PLAIN.templateName(),
                List.of(), null, true, DEFAULT_IDLE_TIMEOUT);
    }

    /** The defaults, with the listen address from {@value #LISTEN_ENV} when it is set. */
    public static BridgeConfig fromEnvironment(Map<String, String> env) {
        requireNonNull(env, "env");
        final String addr = env.get(LISTEN_ENV);
        if (addr == null || addr.isBlank()) {
            return defaults();
        }
        try {
            return defaults().withListen(Endpoint.parse(addr));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(LISTEN_ENV + ": " + e.getMessage(), e);
        }
    }

    /** The chat template name for {@code model}. */
    public String templateFor(String model) {
        return templates.getOrDefault(model, defaultTemplate);
    }

    public BridgeConfig withListen(Endpoint newListen) {
        return new BridgeConfig(newListen, maxBodyBytes, templates, defaultTemplate, models, upstreamDeadline,
                readyCheck, idleTimeout);
    }

    public BridgeConfig withMaxBodyBytes(int newMaxBodyBytes) {
        return new BridgeConfig(listen, newMaxBodyBytes, templates, defaultTemplate, models, upstreamDeadline,
                readyCheck, idleTimeout);
    }

    public BridgeConfig withTemplates(Map<String, String> newTemplates) {
        return new BridgeConfig(listen, maxBodyBytes, newTemplates, defaultTemplate, models, upstreamDeadline,
                readyCheck, idleTimeout);
    }

    /** These templates plus {@code model → template}. */
    public BridgeConfig withTemplate(String model, String template) {
        requireNonNull(model, "model");
        requireNonNull(template, "template");
        final Map<String, String> copy = new LinkedHashMap<>(templates);
        copy.put(model, template);
        return withTemplates(copy);
    }

    public BridgeConfig withDefaultTemplate(String newDefaultTemplate) {
        return new BridgeConfig(listen, maxBodyBytes, templates, newDefaultTemplate, models, upstreamDeadline,
                readyCheck, idleTimeout);
    }

    public BridgeConfig withModels(List<String> newModels) {
        return new BridgeConfig(listen, maxBodyBytes, templates, defaultTemplate, newModels, upstreamDeadline,
                readyCheck, idleTimeout);
    }

    public BridgeConfig withUpstreamDeadline(Duration newUpstreamDeadline) {
        return new BridgeConfig(listen, maxBodyBytes, templates, defaultTemplate, models, newUpstreamDeadline,
                readyCheck, idleTimeout);
    }

    public BridgeConfig withReadyCheck(boolean newReadyCheck) {
        return new BridgeConfig(listen, maxBodyBytes, templates, defaultTemplate, models, upstreamDeadline,
                newReadyCheck, idleTimeout);
    }

    public BridgeConfig withIdleTimeout(Duration newIdleTimeout) {
        return new BridgeConfig(listen, maxBodyBytes, templates, defaultTemplate, models, upstreamDeadline,
                readyCheck, newIdleTimeout);
    }

    private static void checkTemplate(String setting, String name) {
        try {
            ChatTemplate.named(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting + ": " + e.getMessage(), e);
        }
    }
}
