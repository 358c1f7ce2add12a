package io.cy.coordinator.service;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Passes response messages through as bytes: the coordinator relays the sidecar's responses
 * without decoding and re-encoding them.
 *
 * <p>Both directions avoid gRPC's generic copy paths, which go through an 8 KiB scratch buffer
 * per message: a relayed token would otherwise cost two such buffers, most of the coordinator's
 * allocation.
 */
final class ByteMarshaller implements MethodDescriptor.Marshaller<byte[]> {

    static final ByteMarshaller INSTANCE = new ByteMarshaller();

    private ByteMarshaller() {}

    @Override
    public InputStream stream(byte[] value) {
        return new DrainableBytes(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
        try {
            if (stream instanceof KnownLength) {
                // gRPC's deframer hands over a whole message whose length it knows.
                return readExactly(stream, stream.available());
            }
            return stream.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readExactly(InputStream stream, int length) throws IOException {
        final byte[] bytes = new byte[length];
        int read = 0;
        while (read < length) {
            final int n = stream.read(bytes, read, length - read);
            if (n < 0) {
                throw new EOFException("message ended after " + read + " of " + length + " bytes");
            }
            read += n;
        }
        return bytes;
    }

    /** Lets gRPC's framer write the array in one call instead of copying it through a buffer. */
    static final class DrainableBytes extends ByteArrayInputStream implements Drainable, KnownLength {

        DrainableBytes(byte[] bytes) {
            super(bytes);
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            final int length = count - pos;
            target.write(buf, pos, length);
            pos = count;
            return length;
        }
    }
}
