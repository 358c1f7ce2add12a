package io.cy.bench.jmh;

import io.cy.coordinator.transport.wire.InboundMessages;
import io.cy.llm.proto.StreamPredictResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Cutting relayed tokens out of DATA frames: what every response message costs on its way from a
 * sidecar's connection (and every request message from a client's) before it is handed on.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class InboundMessagesBenchmark {

    private final InboundMessages messages = new InboundMessages(4 << 20, false, "the sidecar");
    private ByteBuf oneToken;
    private ByteBuf eightTokens;

    @Setup
    public void setUp() {
        final byte[] token = StreamPredictResponse.newBuilder()
                .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d").setChunk(" token").setIndex(7).build().toByteArray();
        oneToken = frame(token, 1);
        eightTokens = frame(token, 8);
    }

    @TearDown
    public void tearDown() {
        oneToken.release();
        eightTokens.release();
    }

    /** One token in its own DATA frame, as a sidecar that flushes every message sends it. */
    @Benchmark
    public int oneMessagePerFrame() {
        return drain(oneToken);
    }

    /** Eight tokens in one DATA frame; the cost per token is this divided by eight. */
    @Benchmark
    public int eightMessagesPerFrame() {
        return drain(eightTokens);
    }

    private int drain(ByteBuf frame) {
        frame.readerIndex(0);
        int n = messages.add(frame, true);
        InboundMessages.Message message;
        while ((message = messages.poll()) != null) {
            n += message.bytes().length + message.owedBytes();
        }
        return n;
    }

    private static ByteBuf frame(byte[] message, int count) {
        final ByteBuf buf = Unpooled.directBuffer((5 + message.length) * count);
        for (int i = 0; i < count; i++) {
            buf.writeByte(0).writeInt(message.length).writeBytes(message);
        }
        return buf;
    }
}
