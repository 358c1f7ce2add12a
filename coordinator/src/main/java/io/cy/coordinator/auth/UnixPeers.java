package io.cy.coordinator.auth;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.server.UnixPeer;
import java.util.List;
import java.util.Set;

/** {@code auth.unix_peers}: callers on the Unix socket known by the uid or gid the kernel reports. */
final class UnixPeers {

    private final List<CoordinatorConfig.UnixPeerEntry> entries;

    UnixPeers(CoordinatorConfig.Auth config) {
        this.entries = List.copyOf(config.unixPeers());
    }

    /** The identity the first matching entry gives {@code peer}, or a rejection naming its uid. */
    Authentication authenticate(UnixPeer peer) {
        for (CoordinatorConfig.UnixPeerEntry entry : entries) {
            if (entry.matches(peer.uid(), peer.gid())) {
                return Authentication.of(new Identity(peer.subject(), entry.tenant(), Set.copyOf(entry.roles()),
                        Identity.CredentialKind.UNIX_PEER, entry.toString()));
            }
        }
        return Authentication.rejected("no bearer token, and Unix socket peer uid=" + peer.uid() + " (gid "
                + (peer.gid() < 0 ? "unknown" : String.valueOf(peer.gid()))
                + ") matches no auth.unix_peers entry (expected: authorization: Bearer <token>,"
                + " or an auth.unix_peers entry for this uid or gid)");
    }
}
