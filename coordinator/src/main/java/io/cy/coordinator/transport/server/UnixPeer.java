package io.cy.coordinator.transport.server;

import io.grpc.Attributes;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process at the other end of a Unix-socket connection, as the kernel reported it when the
 * connection was made ({@code SO_PEERCRED}): its effective uid and gid, and its pid. The client
 * cannot choose what is reported, so it can serve as a credential.
 *
 * @param uid the effective user id, unsigned
 * @param gid the effective (primary) group id, unsigned; supplementary groups are not reported
 */
public record UnixPeer(long uid, long gid, int pid) {

    /** Set on the calls of a Unix-socket connection whose peer is known; absent on TCP and in-process calls. */
    public static final Attributes.Key<UnixPeer> TRANSPORT_ATTR = Attributes.Key.create("cy-unix-peer");

    private static final Logger logger = LoggerFactory.getLogger(UnixPeer.class);

    /**
     * The peer of {@code channel}, or null when it is not a Unix socket or the kernel would not
     * say. One getsockopt on an open socket: it does not block.
     */
    static UnixPeer of(Channel channel) {
        if (!(channel instanceof EpollDomainSocketChannel)) {
            return null;
        }
        final PeerCredentials credentials;
        try {
            credentials = ((EpollDomainSocketChannel) channel).peerCredentials();
        } catch (IOException | RuntimeException e) {
            logger.debug("no peer credentials for {}: {}", channel, e.toString());
            return null;
        }
        final int[] gids = credentials.gids();
        return new UnixPeer(Integer.toUnsignedLong(credentials.uid()),
                gids.length == 0 ? -1 : Integer.toUnsignedLong(gids[0]), credentials.pid());
    }

    /** The caller's name in audit rows and the access log: {@code uds:uid=1000}. */
    public String subject() {
        return "uds:uid=" + uid;
    }
}
