package io.cy.coordinator.service;

import com.google.common.io.ByteStreams;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What relaying one response message costs the coordinator in its marshaller: gRPC hands the
 * received message to {@link ByteMarshaller#parse} as a stream of known length, and copies the
 * stream {@link ByteMarshaller#stream} returns into its outbound frame, through
 * {@code Drainable.drainTo} when the stream offers it and through Guava's
 * {@code ByteStreams.copy} (an 8 KiB scratch buffer) when it does not, as
 * {@code io.grpc.internal.MessageFramer} does. Run with {@code -prof gc} to see the bytes
 * allocated per message.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RelayedMessageBenchmark {

    private byte[] message;
    private OutputStream frame;

    @Setup
    public void setUp() {
        message = StreamPredictResponse.newBuilder()
                .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d")
                .setChunk("lorem ")
                .setIndex(7)
                .build()
                .toByteArray();
        frame = OutputStream.nullOutputStream();
    }

    /** Whether a relayed message ends the stream, as the forwarder asks of every one. */
    @Benchmark
    public boolean endOfStream() {
        return ResponseFrames.isEndOfStream(message);
    }

    /** The same answer through a {@link CodedInputStream} per message, as it was read before: the baseline. */
    @Benchmark
    public boolean endOfStreamCodedInputStream() throws IOException {
        final CodedInputStream in = CodedInputStream.newInstance(message);
        boolean endOfStream = false;
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (tag == ((StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT)) {
                endOfStream = in.readBool();
            } else if (!in.skipField(tag)) {
                break;
            }
        }
        return endOfStream;
    }

    /** Receiving: the bytes of one message out of gRPC's deframer. */
    @Benchmark
    public byte[] parse() {
        return ByteMarshaller.INSTANCE.parse(new ReceivedMessage(message));
    }

    /** Sending: the relayed bytes into the outbound frame. */
    @Benchmark
    public void stream(Blackhole blackhole) throws IOException {
        final InputStream stream = ByteMarshaller.INSTANCE.stream(message);
        if (stream instanceof Drainable) {
            blackhole.consume(((Drainable) stream).drainTo(frame));
        } else {
            blackhole.consume(ByteStreams.copy(stream, frame));
        }
    }

    /**
     * Like gRPC's {@code ReadableBuffers.BufferInputStream}: its length is known before it is
     * read, and it leaves {@code readAllBytes} to {@link InputStream}'s default (which, unlike
     * {@link ByteArrayInputStream}'s, reads through an 8 KiB scratch buffer).
     */
    private static final class ReceivedMessage extends InputStream implements KnownLength {

        private final byte[] bytes;
        private int pos;

        ReceivedMessage(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return pos < bytes.length ? bytes[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] dest, int off, int len) {
            if (pos >= bytes.length) {
                return -1;
            }
            final int n = Math.min(len, bytes.length - pos);
            System.arraycopy(bytes, pos, dest, off, n);
            pos += n;
            return n;
        }

        @Override
        public int available() {
            return bytes.length - pos;
        }
    }
}
