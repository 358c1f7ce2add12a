package io.cy.coordinator.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code auth.unix_peers}: read from the configuration tree, and from the one-line form of
 * {@code CY_AUTH_UNIX_PEERS} ({@code uid=1000:tenant=default:roles=user,gid=2000:tenant=ops:roles=user+admin}).
 */
final class UnixPeerEntries {

    static final String PATH = "auth.unix_peers";
    static final String VARIABLE = "CY_AUTH_UNIX_PEERS";

    private static final List<String> KEYS = List.of("uid", "gid", "tenant", "roles");
    /** uid_t and gid_t are 32 bits unsigned; (uid_t) -1 means "no change" to the kernel, never a user. */
    private static final long MAX_ID = 0xFFFF_FFFEL;
    private static final String FORM = "uid=1000:tenant=default:roles=user+admin";

    private UnixPeerEntries() {}

    /** The validated entries of {@code auth.unix_peers}, in order: the first match wins. */
    static List<CoordinatorConfig.UnixPeerEntry> read(ConfigTree auth) {
        final List<CoordinatorConfig.UnixPeerEntry> entries = new ArrayList<>();
        for (ConfigTree entry : auth.sections("unix_peers")) {
            entries.add(entry(entry));
        }
        return List.copyOf(entries);
    }

    private static CoordinatorConfig.UnixPeerEntry entry(ConfigTree entry) {
        entry.rejectUnknown(KEYS);
        final boolean uid = entry.has("uid");
        final boolean gid = entry.has("gid");
        if (uid == gid) {
            throw new ConfigException(entry.pathOf(uid ? "gid" : "uid"), (uid ? "set together with uid" : "missing")
                    + " (expected: exactly one of uid and gid)");
        }
        final String key = uid ? "uid" : "gid";
        final String tenant = entry.string("tenant");
        if (tenant.isEmpty()) {
            throw new ConfigException(entry.pathOf("tenant"), "empty (expected: the tenant these callers act for)");
        }
        return new CoordinatorConfig.UnixPeerEntry(
                uid ? CoordinatorConfig.UnixPeerEntry.Match.UID : CoordinatorConfig.UnixPeerEntry.Match.GID,
                id(entry, key), tenant, entry.strings("roles"));
    }

    private static long id(ConfigTree entry, String key) {
        final String text = entry.string(key);
        final long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new ConfigException(entry.pathOf(key), "'" + text + "' (expected: a numeric " + key + " in [0, "
                    + MAX_ID + "])");
        }
        if (value < 0 || value > MAX_ID) {
            throw new ConfigException(entry.pathOf(key), value + " (expected: in [0, " + MAX_ID + "])");
        }
        return value;
    }

    /**
     * The list {@code CY_AUTH_UNIX_PEERS} describes, as the YAML would hold it. Entries are
     * separated by commas, fields by colons, roles by plus signs; an empty value is an empty list.
     * Errors name the variable and the entry; values are checked as the YAML's are.
     */
    static ArrayNode fromVariable(String value) {
        final ArrayNode list = JsonNodeFactory.instance.arrayNode();
        for (String text : value.split(",", -1)) {
            final String entry = text.trim();
            if (entry.isEmpty()) {
                continue;
            }
            final ObjectNode fields = list.addObject();
            for (String field : entry.split(":", -1)) {
                final int equals = field.indexOf('=');
                if (equals <= 0) {
                    throw new ConfigException(VARIABLE, "entry '" + entry + "': '" + field
                            + "' (expected: key=value fields separated by ':', e.g. " + FORM + ")");
                }
                final String key = field.substring(0, equals).trim();
                final String fieldValue = field.substring(equals + 1).trim();
                if (!KEYS.contains(key)) {
                    throw new ConfigException(VARIABLE, "entry '" + entry + "': unknown key '" + key
                            + "' (expected one of: " + String.join(", ", KEYS) + ")");
                }
                if (fields.has(key)) {
                    throw new ConfigException(VARIABLE, "entry '" + entry + "': " + key
                            + " given twice (expected: each key once)");
                }
                if (key.equals("roles")) {
                    final ArrayNode roles = fields.putArray(key);
                    for (String role : fieldValue.split("\\+")) {
                        if (!role.isBlank()) {
                            roles.add(role.trim());
                        }
                    }
                } else {
                    fields.put(key, fieldValue);
                }
            }
            try {
                entry(new ConfigTree(fields, ""));
            } catch (ConfigException e) {
                throw new ConfigException(VARIABLE, "entry '" + entry + "': " + e.getMessage());
            }
        }
        return list;
    }
}
