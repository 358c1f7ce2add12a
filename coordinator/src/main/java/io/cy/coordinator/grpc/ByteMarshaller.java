package io.cy.coordinator.grpc;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Passes response messages through as bytes: the coordinator relays the sidecar's responses
 * without decoding and re-encoding them.
 */
final class ByteMarshaller implements MethodDescriptor.Marshaller<byte[]> {

    static final ByteMarshaller INSTANCE = new ByteMarshaller();

    private ByteMarshaller() {}

    @Override
    public InputStream stream(byte[] value) {
        // grpc's framer takes the length of a ByteArrayInputStream without copying it first.
        return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
        try {
            return stream.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
