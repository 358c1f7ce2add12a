package io.cy.coordinator.transport.wire;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameReader;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * Builds a connection's HTTP/2 handler through Netty's builder, so that the builder's decorators
 * come with it: the cap on queued control frames, the RST_STREAM rate limit both ways, the limit
 * on empty DATA frames and on small CONTINUATION frames. Encoder and decoder built by hand would
 * have none of them. The limits are set from {@link FloodLimits}; the rest are Netty's defaults,
 * but that the values of {@link PerCallHeaders} stay out of the HPACK dynamic table.
 *
 * <p>The builder has no setting for the HPACK decoder, and its one way to bring a frame reader of
 * one's own, {@code codec(...)}, leaves out the encoder's limits. So the encoder is the builder's,
 * and the decoder it built is built again with the same settings around a reader that decodes
 * with {@link RepeatedHeaderBlocks}; the one limit the builder had put around it, on empty DATA
 * frames, is put around the new one by {@link EmptyDataFrameLimit}. That the builder's decoder is
 * what this expects is checked on every build, so a Netty that decorates it otherwise is
 * noticed at once rather than losing a defence.
 *
 * @param <T> the connection's own handler
 */
public final class GuardedHandlerBuilder<T extends Http2ConnectionHandler>
        extends AbstractHttp2ConnectionHandlerBuilder<T, GuardedHandlerBuilder<T>> {

    /** Makes the handler from what the builder assembled. */
    @FunctionalInterface
    public interface HandlerFactory<T extends Http2ConnectionHandler> {
        T create(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings);
    }

    /** The decoder Netty's builder makes with the settings above: its own, inside the limit on empty DATA frames. */
    private static final String EXPECTED_DECODER = "io.netty.handler.codec.http2.Http2EmptyDataFrameConnectionDecoder";

    private final HandlerFactory<T> factory;
    private final Http2Connection connection;
    private final FloodLimits limits;

    /** @param connection with its flow controllers already set */
    public GuardedHandlerBuilder(Http2Connection connection, FloodLimits limits, HandlerFactory<T> factory) {
        this.factory = requireNonNull(factory, "factory");
        this.limits = requireNonNull(limits, "limits");
        this.connection = requireNonNull(connection, "connection");
        connection(connection);
        final int windowSeconds = Math.toIntExact(limits.rstFramesWindow().getSeconds());
        encoderEnforceMaxQueuedControlFrames(limits.maxQueuedControlFrames());
        // Received resets are limited by ResetRateLimit, around the frame listener, not by Netty's
        // listener, which would count the resets of calls already answered too.
        decoderEnforceMaxRstFramesPerWindow(0, 0);
        encoderEnforceMaxRstFramesPerWindow(limits.maxRstFramesPerWindow(), windowSeconds);
        decoderEnforceMaxConsecutiveEmptyDataFrames(limits.maxConsecutiveEmptyDataFrames());
        headerSensitivityDetector(PerCallHeaders.INSTANCE);
    }

    @Override
    public GuardedHandlerBuilder<T> initialSettings(Http2Settings settings) {
        return super.initialSettings(settings);
    }

    /**
     * Set on the outermost decoder, so that every limiting decorator sees the frames first; wrapped
     * in the limit on resets received, when there is one.
     */
    @Override
    public GuardedHandlerBuilder<T> frameListener(Http2FrameListener frameListener) {
        if (limits.maxRstFramesPerWindow() <= 0) {
            return super.frameListener(frameListener);
        }
        return super.frameListener(new ResetRateLimit(frameListener, connection, limits.maxRstFramesPerWindow(),
                limits.rstFramesWindow()));
    }

    @Override
    public GuardedHandlerBuilder<T> gracefulShutdownTimeoutMillis(long gracefulShutdownTimeoutMillis) {
        return super.gracefulShutdownTimeoutMillis(gracefulShutdownTimeoutMillis);
    }

    /** Streams beyond the peer's concurrency limit wait in the encoder (a client's {@code StreamBufferingEncoder}). */
    @Override
    public GuardedHandlerBuilder<T> encoderEnforceMaxConcurrentStreams(boolean enforce) {
        return super.encoderEnforceMaxConcurrentStreams(enforce);
    }

    @Override
    public T build() {
        return super.build();
    }

    @Override
    protected T build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
        if (!EXPECTED_DECODER.equals(decoder.getClass().getName())) {
            throw new IllegalStateException("Netty's HTTP/2 builder made a " + decoder.getClass().getName()
                    + " (expected: " + EXPECTED_DECODER + "); its limits would be lost with the decoder built here");
        }
        final Long maxHeaderListSize = initialSettings.maxHeaderListSize();
        final DefaultHttp2HeadersDecoder headers = new DefaultHttp2HeadersDecoder(isValidateHeaders(),
                maxHeaderListSize == null ? Http2CodecUtil.DEFAULT_HEADER_LIST_SIZE : maxHeaderListSize, -1);
        final Http2FrameReader reader = new DefaultHttp2FrameReader(new RepeatedHeaderBlocks(headers),
                decoderEnforceMaxSmallContinuationFrames());
        final Http2ConnectionDecoder ours = new DefaultHttp2ConnectionDecoder(connection, encoder, reader,
                promisedRequestVerifier(), isAutoAckSettingsFrame(), isAutoAckPingFrame(), isValidateHeaders(),
                isValidateRequiredPseudoHeaders());
        return factory.create(new EmptyDataFrameLimit(ours, limits.maxConsecutiveEmptyDataFrames()), encoder,
                initialSettings);
    }
}
