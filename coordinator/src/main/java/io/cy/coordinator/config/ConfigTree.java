package io.cy.coordinator.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed, validating reads from one section of the merged configuration tree. Every failure is a
 * {@link ConfigException} naming the full path of the setting.
 */
final class ConfigTree {

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    private final ObjectNode node;
    private final String path;

    ConfigTree(ObjectNode node, String path) {
        this.node = node;
        this.path = path;
    }

    ConfigTree section(String key) {
        final JsonNode child = node.get(key);
        if (child == null || !child.isObject()) {
            throw new ConfigException(pathOf(key), "missing section (expected: a mapping)");
        }
        return new ConfigTree((ObjectNode) child, pathOf(key));
    }

    String string(String key) {
        final JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return "";
        }
        if (!value.isValueNode()) {
            throw new ConfigException(pathOf(key), "a " + value.getNodeType().name().toLowerCase(Locale.ROOT)
                    + " (expected: a single value)");
        }
        return value.asText().trim();
    }

    int intIn(String key, int min, int max) {
        final String text = string(key);
        final long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new ConfigException(pathOf(key), "'" + text + "' (expected: a whole number)");
        }
        if (value < min || value > max) {
            throw new ConfigException(pathOf(key), value + " (expected: " + range(min, max) + ")");
        }
        return (int) value;
    }

    boolean bool(String key) {
        final String text = string(key).toLowerCase(Locale.ROOT);
        switch (text) {
            case "true":
            case "yes":
            case "on":
                return true;
            case "false":
            case "no":
            case "off":
                return false;
            default:
                throw new ConfigException(pathOf(key), "'" + string(key) + "' (expected: true or false)");
        }
    }

    Duration duration(String key, Duration min) {
        final String text = string(key);
        final Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            throw new ConfigException(pathOf(key), "'" + text + "' (expected: a duration such as 500ms, 30s, 5m, 1h)");
        }
        final long amount = Long.parseLong(m.group(1));
        final Duration d;
        switch (m.group(2)) {
            case "ms":
                d = Duration.ofMillis(amount);
                break;
            case "s":
                d = Duration.ofSeconds(amount);
                break;
            case "m":
                d = Duration.ofMinutes(amount);
                break;
            default:
                d = Duration.ofHours(amount);
                break;
        }
        if (d.compareTo(min) < 0) {
            throw new ConfigException(pathOf(key), text + " (expected: >= " + min.toMillis() + "ms)");
        }
        return d;
    }

    /**
     * A TCP address, or null when the setting is empty and {@code optional}; {@code expected} says
     * what the setting takes, in the message for an empty value and for a Unix socket alike.
     */
    Endpoint tcpEndpoint(String key, boolean optional, String expected) {
        final String text = string(key);
        if (text.isEmpty()) {
            if (optional) {
                return null;
            }
            throw new ConfigException(pathOf(key), "empty (expected: " + expected + ")");
        }
        final Endpoint endpoint;
        try {
            endpoint = Endpoint.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(pathOf(key), e.getMessage());
        }
        if (endpoint.isUnix()) {
            throw new ConfigException(pathOf(key), endpoint + " (expected: " + expected + ")");
        }
        return endpoint;
    }

    /**
     * A Unix socket to listen on, written as an absolute path (as the open-source coordinator's
     * COORDINATOR_UDS_PATH is) or as unix:///path; null when the setting is empty.
     */
    Endpoint unixSocket(String key) {
        final String text = string(key);
        if (text.isEmpty()) {
            return null;
        }
        final Endpoint endpoint;
        try {
            endpoint = text.startsWith("unix:") || text.indexOf(':') >= 0
                    ? Endpoint.parse(text) : Endpoint.unix(Path.of(text));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(pathOf(key), e.getMessage());
        }
        if (!endpoint.isUnix()) {
            throw new ConfigException(pathOf(key), text + " (expected: an absolute socket path)");
        }
        return endpoint;
    }

    /** A non-empty list of addresses, from a YAML list or a comma-separated string. */
    List<Endpoint> endpoints(String key) {
        final List<String> texts = strings(key);
        if (texts.isEmpty()) {
            throw new ConfigException(pathOf(key), "empty (expected: at least one address)");
        }
        final List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            try {
                endpoints.add(Endpoint.parse(texts.get(i)));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(pathOf(key) + "[" + i + "]", e.getMessage());
            }
        }
        return List.copyOf(endpoints);
    }

    List<String> strings(String key) {
        final JsonNode value = node.get(key);
        final List<String> out = new ArrayList<>();
        if (value == null || value.isNull()) {
            return out;
        }
        if (value.isArray()) {
            for (JsonNode item : value) {
                if (!item.isValueNode()) {
                    throw new ConfigException(pathOf(key), "a nested structure (expected: a list of strings)");
                }
                if (!item.asText().isBlank()) {
                    out.add(item.asText().trim());
                }
            }
            return out;
        }
        for (String part : string(key).split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return out;
    }

    /** Whether {@code key} is set to null (written with no value). */
    boolean isNull(String key) {
        final JsonNode value = node.get(key);
        return value != null && value.isNull();
    }

    /** Whether {@code key} holds a mapping. */
    boolean isMapping(String key) {
        final JsonNode value = node.get(key);
        return value != null && value.isObject();
    }

    /** Whether {@code key} holds a list (a YAML sequence). */
    boolean isList(String key) {
        final JsonNode value = node.get(key);
        return value != null && value.isArray();
    }

    /** Whether the section sets {@code key} at all. */
    boolean has(String key) {
        return node.has(key);
    }

    /** The keys this section sets, in order. */
    List<String> keys() {
        final List<String> keys = new ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    /**
     * A limit: a whole number of at least {@code min}, or {@link CoordinatorConfig.QuotaPolicy#UNLIMITED}
     * when empty or written as "unlimited".
     */
    long limit(String key, long min) {
        final String text = string(key);
        if (text.isEmpty() || text.equalsIgnoreCase("unlimited")) {
            return CoordinatorConfig.QuotaPolicy.UNLIMITED;
        }
        final long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new ConfigException(pathOf(key), "'" + text + "' (expected: a whole number, or empty for no limit)");
        }
        if (value < min) {
            throw new ConfigException(pathOf(key), value + " (expected: >= " + min + ", or empty for no limit)");
        }
        return value;
    }

    /** The mappings of a list setting, each readable as a section. */
    List<ConfigTree> sections(String key) {
        final JsonNode value = node.get(key);
        final List<ConfigTree> out = new ArrayList<>();
        if (value == null || value.isNull()) {
            return out;
        }
        if (!value.isArray()) {
            throw new ConfigException(pathOf(key), "a single value (expected: a list of mappings)");
        }
        for (int i = 0; i < value.size(); i++) {
            final JsonNode item = value.get(i);
            if (!item.isObject()) {
                throw new ConfigException(pathOf(key) + "[" + i + "]", "a single value (expected: a mapping)");
            }
            out.add(new ConfigTree((ObjectNode) item, pathOf(key) + "[" + i + "]"));
        }
        return out;
    }

    /** Fails naming the first key not in {@code known}: for free-form mappings in lists. */
    void rejectUnknown(List<String> known) {
        node.fieldNames().forEachRemaining(name -> {
            if (!known.contains(name)) {
                throw new ConfigException(pathOf(name), "unknown setting (expected one of: " + String.join(", ", known) + ")");
            }
        });
    }

    /** The full path of a setting in this section, for messages. */
    /** This section's own path, e.g. {@code server.tls}. */
    String path() {
        return path;
    }

    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String range(long min, long max) {
        if (max == Integer.MAX_VALUE) {
            return ">= " + min;
        }
        return "in [" + min + ", " + max + "]";
    }
}
