package io.cy.coordinator;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP/2 frames written by hand on a plain socket, for what no HTTP/2 library lets a client do:
 * flood a server while never reading, reset streams as fast as it can open them, send header
 * blocks without end. Header blocks are HPACK literals without indexing, so one encoded block can
 * be sent any number of times.
 */
final class RawFrameSocket implements AutoCloseable {

    static final int DATA = 0x0;
    static final int HEADERS = 0x1;
    static final int RST_STREAM = 0x3;
    static final int SETTINGS = 0x4;
    static final int PING = 0x6;
    static final int GOAWAY = 0x7;
    static final int CONTINUATION = 0x9;
    static final int END_STREAM = 0x1;
    static final int END_HEADERS = 0x4;
    static final long CANCEL = 0x8;
    static final long ENHANCE_YOUR_CALM = 0xb;

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** The server's GOAWAY. */
    record GoAway(int lastStreamId, long errorCode) {}

    private final Socket socket;
    private final OutputStream out;
    private final AtomicLong dataBytesRead = new AtomicLong();

    /**
     * Connects and sends the preface and an empty SETTINGS frame. {@code receiveBufferBytes} is set
     * before connecting, so that a client that never reads stops taking the server's bytes soon.
     */
    RawFrameSocket(InetSocketAddress server, int receiveBufferBytes) throws IOException {
        socket = new Socket();
        socket.setReceiveBufferSize(receiveBufferBytes);
        // What we wrote waits in the coordinator's buffers, not in ours, so that counting frames written counts its.
        socket.setSendBufferSize(1 << 16);
        socket.setTcpNoDelay(true);
        socket.connect(server, 5_000);
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        out.write(PREFACE);
        frame(SETTINGS, 0, 0, new byte[0]);
        flush();
    }

    /** A header block of HPACK literals without indexing, with new names, no Huffman coding. */
    static byte[] headerBlock(Map<String, String> headers) {
        final ByteArrayOutputStream block = new ByteArrayOutputStream();
        headers.forEach((name, value) -> {
            block.write(0);
            literal(block, name);
            literal(block, value);
        });
        return block.toByteArray();
    }

    /** The header block of a gRPC request for {@code path}. */
    static byte[] grpcRequest(String path) {
        final Map<String, String> headers = new java.util.LinkedHashMap<>();
        headers.put(":method", "POST");
        headers.put(":scheme", "http");
        headers.put(":path", path);
        headers.put(":authority", "localhost");
        headers.put("content-type", "application/grpc");
        headers.put("te", "trailers");
        return headerBlock(headers);
    }

    /** Buffers a frame; {@link #flush} sends what is buffered. */
    void frame(int type, int flags, int streamId, byte[] payload) throws IOException {
        final int length = payload.length;
        out.write(length >>> 16);
        out.write(length >>> 8);
        out.write(length);
        out.write(type);
        out.write(flags);
        out.write(streamId >>> 24 & 0x7f);
        out.write(streamId >>> 16);
        out.write(streamId >>> 8);
        out.write(streamId);
        out.write(payload);
    }

    void rstStream(int streamId, long errorCode) throws IOException {
        frame(RST_STREAM, 0, streamId, int32(errorCode));
    }

    void flush() throws IOException {
        out.flush();
    }

    /**
     * Reads frames in the background until the server's GOAWAY (the future's value) or the end of
     * the connection (null). Started before a flood, so that the GOAWAY is read before the
     * server's close can discard it.
     */
    CompletableFuture<GoAway> readUntilGoAway() {
        final CompletableFuture<GoAway> goAway = new CompletableFuture<>();
        final Thread reader = new Thread(() -> {
            try {
                final DataInputStream in = new DataInputStream(socket.getInputStream());
                while (true) {
                    final int length = in.readUnsignedByte() << 16 | in.readUnsignedShort();
                    final int type = in.readUnsignedByte();
                    in.readUnsignedByte();
                    in.readInt();
                    final byte[] payload = new byte[length];
                    in.readFully(payload);
                    if (type == DATA) {
                        dataBytesRead.addAndGet(length);
                    }
                    if (type == GOAWAY) {
                        final DataInputStream p = new DataInputStream(new java.io.ByteArrayInputStream(payload));
                        goAway.complete(new GoAway(p.readInt() & 0x7fffffff, p.readInt() & 0xffffffffL));
                        return;
                    }
                }
            } catch (EOFException e) {
                goAway.complete(null);
            } catch (IOException e) {
                goAway.complete(null);
            }
        }, "raw-frame-reader");
        reader.setDaemon(true);
        reader.start();
        return goAway;
    }

    /** The payload bytes of the DATA frames {@link #readUntilGoAway} has read. */
    long dataBytesRead() {
        return dataBytesRead.get();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    static byte[] int32(long value) {
        return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    }

    private static void literal(ByteArrayOutputStream block, String text) {
        final byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length >= 127) {
            throw new IllegalArgumentException("header: " + text + " (expected: shorter than 127 bytes)");
        }
        block.write(bytes.length);
        block.write(bytes, 0, bytes.length);
    }
}
