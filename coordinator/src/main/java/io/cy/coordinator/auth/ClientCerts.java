package io.cy.coordinator.auth;

import io.cy.coordinator.config.CoordinatorConfig;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * {@code auth.client_certs}: callers known by a client certificate the TLS handshake verified
 * against the listener's CA bundle, matched on a subject alternative name or on the subject.
 */
final class ClientCerts {

    /** GeneralName tags of RFC 5280 whose values are strings: rfc822Name, dNSName, URI, iPAddress. */
    private static final Set<Integer> STRING_NAMES = Set.of(1, 2, 6, 7);

    private final List<CoordinatorConfig.ClientCertEntry> entries;

    ClientCerts(CoordinatorConfig.Auth config) {
        this.entries = List.copyOf(config.clientCerts());
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** The identity the first matching entry gives {@code certificate}, or a rejection naming its subject. */
    Authentication authenticate(X509Certificate certificate) {
        final List<String> sans = subjectAlternativeNames(certificate);
        for (CoordinatorConfig.ClientCertEntry entry : entries) {
            final String matched = entry.san() != null
                    ? (sans.contains(entry.san()) ? entry.san() : null)
                    : (entry.subject().equals(certificate.getSubjectX500Principal())
                    ? certificate.getSubjectX500Principal().getName() : null);
            if (matched != null) {
                return Authentication.of(new Identity(matched, entry.tenant(), Set.copyOf(entry.roles()),
                        Identity.CredentialKind.CLIENT_CERT, entry.toString()));
            }
        }
        return Authentication.rejected("no bearer token, and client certificate '"
                + certificate.getSubjectX500Principal().getName() + "'"
                + (sans.isEmpty() ? "" : " (SAN " + String.join(", ", sans) + ")")
                + " matches no auth.client_certs entry (expected: authorization: Bearer <token>,"
                + " or an auth.client_certs entry for its subject or a SAN)");
    }

    static List<String> subjectAlternativeNames(X509Certificate certificate) {
        final Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (names == null) {
            return List.of();
        }
        final List<String> out = new ArrayList<>();
        for (List<?> name : names) {
            if (name.size() == 2 && STRING_NAMES.contains((Integer) name.get(0)) && name.get(1) instanceof String s) {
                out.add(s);
            }
        }
        return out;
    }
}
