package io.cy.coordinator.transport.wire;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * What a connection's peer may make us do before the connection is closed with GOAWAY
 * ENHANCE_YOUR_CALM: the defences Netty's HTTP/2 handler builder gives a server, here for both
 * ends of the coordinator.
 *
 * @param maxQueuedControlFrames SETTINGS and PING acknowledgements and RST_STREAMs written but not
 *     yet taken by the socket; a peer that floods us with frames needing an answer while it never
 *     reads would otherwise have them pile up in memory
 * @param maxRstFramesPerWindow RST_STREAMs received (and sent for errors) within {@code rstFramesWindow};
 *     each reset stream was a full call start (CVE-2023-44487, "rapid reset"); 0 for no limit, as
 *     for a sidecar, whose resets start nothing on our side
 * @param rstFramesWindow the window of {@code maxRstFramesPerWindow}, whole seconds
 * @param maxConsecutiveEmptyDataFrames DATA frames with no bytes and no end of stream in a row;
 *     they have no use but to burn CPU
 */
public record FloodLimits(int maxQueuedControlFrames, int maxRstFramesPerWindow, Duration rstFramesWindow,
                          int maxConsecutiveEmptyDataFrames) {

    /** Netty's server defaults, and the defaults of the {@code server.} settings. */
    public static final FloodLimits DEFAULTS = new FloodLimits(10_000, 200, Duration.ofSeconds(30), 2);
    /**
     * Netty's client defaults, for a connection to a sidecar: the streams are ours, so a reset from
     * the sidecar ends a call we started (its deadline expired, it sheds load, it answered before
     * the request ended); a busy sidecar resets hundreds a minute, and counting them would cut its
     * connection with every call on it.
     */
    public static final FloodLimits SIDECAR = new FloodLimits(10_000, 0, Duration.ofSeconds(30), 2);

    public FloodLimits {
        requireNonNull(rstFramesWindow, "rstFramesWindow");
        if (maxQueuedControlFrames < 1) {
            throw new IllegalArgumentException("maxQueuedControlFrames: " + maxQueuedControlFrames + " (expected: > 0)");
        }
        if (maxRstFramesPerWindow < 0) {
            throw new IllegalArgumentException("maxRstFramesPerWindow: " + maxRstFramesPerWindow + " (expected: >= 0)");
        }
        if (rstFramesWindow.getNano() != 0 || rstFramesWindow.getSeconds() < 1
                || rstFramesWindow.getSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("rstFramesWindow: " + rstFramesWindow
                    + " (expected: whole seconds, >= 1s)");
        }
        if (maxConsecutiveEmptyDataFrames < 1) {
            throw new IllegalArgumentException("maxConsecutiveEmptyDataFrames: " + maxConsecutiveEmptyDataFrames
                    + " (expected: > 0)");
        }
    }
}
