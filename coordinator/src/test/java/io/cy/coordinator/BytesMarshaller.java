package io.cy.coordinator;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Raw bytes as a gRPC message, for tests of the transport that need no protobuf. */
public final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {

    public static final BytesMarshaller INSTANCE = new BytesMarshaller();

    private BytesMarshaller() {}

    @Override
    public InputStream stream(byte[] value) {
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
