package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Keepalive on one connection, on an event loop whose clock the test moves. */
class ConnectionChoresTest {

    private static final int PING = 0x6;
    private static final Duration TIME = Duration.ofSeconds(1);
    private static final Duration TIMEOUT = Duration.ofMillis(100);

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final AtomicInteger timeouts = new AtomicInteger();
    private ConnectionChores chores;

    @BeforeEach
    void setUp() {
        channel.freezeTime();
        final Http2ConnectionHandler handler = new Http2ConnectionHandlerBuilder()
                .server(false)
                .frameListener(new Http2FrameAdapter())
                .build();
        channel.pipeline().addLast(handler);
        chores = new ConnectionChores(channel.eventLoop(), handler);
        chores.attach(channel.pipeline().context(handler));
        // The preface and SETTINGS.
        channel.flush();
        pingsWritten();
        chores.startKeepalive(TIME, TIMEOUT, timeouts::incrementAndGet);
    }

    @AfterEach
    void tearDown() {
        channel.finishAndReleaseAll();
    }

    @Test
    void pingsWhenNothingWasReadForTheKeepaliveTime() {
        advance(TIME.minusMillis(1));
        assertThat(pingsWritten()).isZero();

        advance(Duration.ofMillis(1));

        assertThat(pingsWritten()).isEqualTo(1);
    }

    @Test
    void doesNotPingWhileSomethingIsReadBetweenTwoChecks() {
        advance(Duration.ofMillis(600));
        chores.onRead();
        advance(Duration.ofMillis(900));
        chores.onRead();
        advance(Duration.ofMillis(500));
        assertThat(pingsWritten()).isZero();

        // Nothing read since the check at 2 s: the one at 3 s pings.
        advance(TIME);

        assertThat(pingsWritten()).isEqualTo(1);
    }

    @Test
    void runsTheTimeoutWhenNothingIsReadAfterAPing() {
        advance(TIME);
        assertThat(pingsWritten()).isEqualTo(1);
        advance(TIMEOUT.minusMillis(1));
        assertThat(timeouts).hasValue(0);

        advance(Duration.ofMillis(1));

        assertThat(timeouts).hasValue(1);
    }

    @Test
    void pingsOnceWhileThePingIsUnanswered() {
        advance(TIME);
        assertThat(pingsWritten()).isEqualTo(1);

        advance(TIME.multipliedBy(2));

        assertThat(pingsWritten()).isZero();
    }

    @Test
    void aReadAfterThePingCallsTheTimeoutOffAndPingsAgainWhenIdle() {
        advance(TIME);
        assertThat(pingsWritten()).isEqualTo(1);
        advance(Duration.ofMillis(50));
        chores.onRead();

        advance(TIMEOUT);
        assertThat(timeouts).hasValue(0);
        // The check at 2 s sees the read; the one at 3 s pings again, and that ping times out.
        advance(TIME.minus(TIMEOUT).minusMillis(50));
        assertThat(pingsWritten()).isZero();
        advance(TIME);
        assertThat(pingsWritten()).isEqualTo(1);
        advance(TIMEOUT);

        assertThat(timeouts).hasValue(1);
    }

    @Test
    void stopEndsThePings() {
        chores.stop();

        advance(TIME.multipliedBy(3));

        assertThat(pingsWritten()).isZero();
    }

    /** Moves the clock a millisecond at a time, so every timer runs when it is due. */
    private void advance(Duration duration) {
        for (long ms = 0; ms < duration.toMillis(); ms++) {
            channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            channel.runPendingTasks();
        }
        // The flush a timer asked for.
        channel.runPendingTasks();
    }

    /** The PING frames (not acks) written since the last look, the rest of the output dropped. */
    private int pingsWritten() {
        final ByteBuf out = Unpooled.buffer();
        for (ByteBuf buf; (buf = channel.readOutbound()) != null; ) {
            out.writeBytes(buf);
            buf.release();
        }
        int pings = 0;
        if (out.readableBytes() >= 24 && out.getByte(0) == 'P') {
            out.skipBytes(24);
        }
        while (out.readableBytes() >= 9) {
            final int length = out.readUnsignedMedium();
            final int type = out.readUnsignedByte();
            final int flags = out.readUnsignedByte();
            out.skipBytes(4 + length);
            if (type == PING && (flags & 0x1) == 0) {
                pings++;
            }
        }
        out.release();
        return pings;
    }
}
