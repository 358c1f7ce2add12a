package io.cy.coordinator.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * {@code auth.client_certs}: read from the configuration tree, and from {@code CY_AUTH_CLIENT_CERTS}
 * written as a YAML flow list ({@code [{san: "spiffe://cy.local/gateway", tenant: acme, roles: [user]}]}):
 * a SPIFFE ID holds colons, so the colon-separated form of {@code CY_AUTH_UNIX_PEERS} cannot serve.
 */
final class ClientCertEntries {

    static final String PATH = "auth.client_certs";
    static final String VARIABLE = "CY_AUTH_CLIENT_CERTS";

    private static final List<String> KEYS = List.of("san", "subject", "tenant", "roles");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ClientCertEntries() {}

    /** The validated entries of {@code auth.client_certs}, in order: the first match wins. */
    static List<CoordinatorConfig.ClientCertEntry> read(ConfigTree auth) {
        final List<CoordinatorConfig.ClientCertEntry> entries = new ArrayList<>();
        for (ConfigTree entry : auth.sections("client_certs")) {
            entries.add(entry(entry));
        }
        return List.copyOf(entries);
    }

    private static CoordinatorConfig.ClientCertEntry entry(ConfigTree entry) {
        entry.rejectUnknown(KEYS);
        final boolean san = entry.has("san");
        final boolean subject = entry.has("subject");
        if (san == subject) {
            throw new ConfigException(entry.pathOf(san ? "subject" : "san"), (san ? "set together with san" : "missing")
                    + " (expected: exactly one of san and subject)");
        }
        final String key = san ? "san" : "subject";
        final String value = entry.string(key);
        if (value.isEmpty()) {
            throw new ConfigException(entry.pathOf(key), "empty (expected: " + (san
                    ? "a subject alternative name, e.g. spiffe://cy.local/gateway" : "a distinguished name, e.g. CN=gateway,O=acme") + ")");
        }
        X500Principal principal = null;
        if (subject) {
            try {
                principal = new X500Principal(value);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(entry.pathOf(key), "'" + value
                        + "' is not a distinguished name (expected: e.g. CN=gateway,O=acme)");
            }
        }
        final String tenant = entry.string("tenant");
        if (tenant.isEmpty()) {
            throw new ConfigException(entry.pathOf("tenant"), "empty (expected: the tenant this caller acts for)");
        }
        return new CoordinatorConfig.ClientCertEntry(san ? value : null, principal, tenant, entry.strings("roles"));
    }

    /** The list {@code CY_AUTH_CLIENT_CERTS} describes; its entries are checked as the YAML's are. */
    static ArrayNode fromVariable(String value) {
        if (value.isBlank()) {
            return YAML.createArrayNode();
        }
        final JsonNode parsed;
        try {
            parsed = YAML.readTree(value);
        } catch (JsonProcessingException e) {
            throw new ConfigException(VARIABLE, "not a YAML flow list (" + e.getOriginalMessage()
                    + "; expected: e.g. [{san: \"spiffe://cy.local/gateway\", tenant: acme, roles: [user]}])");
        }
        if (parsed == null || !parsed.isArray()) {
            throw new ConfigException(VARIABLE, "not a list (expected: e.g."
                    + " [{san: \"spiffe://cy.local/gateway\", tenant: acme, roles: [user]}])");
        }
        return (ArrayNode) parsed;
    }
}
