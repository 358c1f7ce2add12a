package io.cy.coordinator.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ByteMarshallerTest {

    private static final byte[] MESSAGE = "a relayed response message".getBytes(StandardCharsets.UTF_8);

    @Test
    void streamDrainsTheWholeArrayOnce() throws IOException {
        final InputStream stream = ByteMarshaller.INSTANCE.stream(MESSAGE);
        assertThat(stream).isInstanceOf(Drainable.class).isInstanceOf(KnownLength.class);
        assertThat(stream.available()).isEqualTo(MESSAGE.length);

        final ByteArrayOutputStream frame = new ByteArrayOutputStream();
        assertThat(((Drainable) stream).drainTo(frame)).isEqualTo(MESSAGE.length);
        assertThat(frame.toByteArray()).isEqualTo(MESSAGE);
        assertThat(stream.available()).isZero();
        assertThat(((Drainable) stream).drainTo(frame)).isZero();
    }

    @Test
    void drainAfterAPartialReadWritesTheRest() throws IOException {
        final InputStream stream = ByteMarshaller.INSTANCE.stream(MESSAGE);
        assertThat(stream.read(new byte[2])).isEqualTo(2);
        final ByteArrayOutputStream frame = new ByteArrayOutputStream();
        assertThat(((Drainable) stream).drainTo(frame)).isEqualTo(MESSAGE.length - 2);
        assertThat(frame.toString(StandardCharsets.UTF_8)).isEqualTo("relayed response message");
    }

    @Test
    void parsesAKnownLengthStreamThatReturnsFewBytesPerRead() {
        assertThat(ByteMarshaller.INSTANCE.parse(new TrickleStream(MESSAGE, MESSAGE.length))).isEqualTo(MESSAGE);
    }

    @Test
    void parsesAStreamOfUnknownLength() {
        final InputStream unknown = new InputStream() {
            private final InputStream in = new ByteArrayInputStream(MESSAGE);

            @Override
            public int read() throws IOException {
                return in.read();
            }
        };
        assertThat(ByteMarshaller.INSTANCE.parse(unknown)).isEqualTo(MESSAGE);
    }

    @Test
    void aKnownLengthStreamThatEndsEarlyIsAnError() {
        assertThatThrownBy(() -> ByteMarshaller.INSTANCE.parse(new TrickleStream(MESSAGE, MESSAGE.length + 5)))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(EOFException.class)
                .hasMessageContaining("after " + MESSAGE.length + " of " + (MESSAGE.length + 5) + " bytes");
    }

    @Test
    void anEmptyMessageParsesToAnEmptyArray() {
        assertThat(ByteMarshaller.INSTANCE.parse(new TrickleStream(new byte[0], 0))).isEmpty();
    }

    /** Announces {@code announced} bytes and returns at most three per read, as a composite buffer may. */
    private static final class TrickleStream extends InputStream implements KnownLength {

        private final byte[] bytes;
        private final int announced;
        private int pos;

        TrickleStream(byte[] bytes, int announced) {
            this.bytes = bytes;
            this.announced = announced;
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
            final int n = Math.min(Math.min(len, 3), bytes.length - pos);
            System.arraycopy(bytes, pos, dest, off, n);
            pos += n;
            return n;
        }

        @Override
        public int available() {
            return announced - pos;
        }
    }
}
