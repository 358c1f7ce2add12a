package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PerCallHeadersTest {

    /** HPACK's first byte of a field whose name is not in any table: 0x10 never indexed, 0x40 indexed. */
    private static int firstByte(DefaultHttp2HeadersEncoder encoder, String name, String value) throws Http2Exception {
        final Http2Headers headers = new DefaultHttp2Headers().add(name, value);
        final ByteBuf out = Unpooled.buffer();
        try {
            encoder.encodeHeaders(1, headers, out);
            return out.getUnsignedByte(0);
        } finally {
            out.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"trace-id", "x-request-id", "traceparent", "tracestate", "grpc-timeout", "grpc-message"})
    void valuesOfOneCallAreNeverIndexed(String name) throws Http2Exception {
        final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder(PerCallHeaders.INSTANCE);

        assertThat(firstByte(encoder, name, "value-of-call-1") & 0xF0).isEqualTo(0x10);
        assertThat(firstByte(encoder, name, "value-of-call-2") & 0xF0).isEqualTo(0x10);
    }

    @Test
    void constantHeadersAreIndexedAndThenSentAsOneByte() throws Http2Exception {
        final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder(PerCallHeaders.INSTANCE);

        assertThat(firstByte(encoder, "cy-backend", "default")).isEqualTo(0x40);
        // The entry just added, the first of the dynamic table: index 62, indexed field 0x80 | 62.
        assertThat(firstByte(encoder, "cy-backend", "default")).isEqualTo(0x80 | 62);
    }

    @Test
    void namesAreMatchedWhateverTheirType() {
        assertThat(PerCallHeaders.INSTANCE.isSensitive("trace-id", "x")).isTrue();
        assertThat(PerCallHeaders.INSTANCE.isSensitive(new StringBuilder("grpc-timeout"), "1S")).isTrue();
        assertThat(PerCallHeaders.INSTANCE.isSensitive("content-type", "application/grpc")).isFalse();
    }

    @Test
    void namesOfTheSameLengthOrFirstLetterAreNotTaken() {
        // The same length as a listed name, or its first letter, or both.
        for (String name : List.of("grpc-status", "grpc-encoding", "grpc-timeouts", "x-request-ix", "trace-ix",
                "tracestatf", "te", "user-agent", ":authority", "grpc-accept-encoding", "")) {
            assertThat(PerCallHeaders.INSTANCE.isSensitive(name, "v")).as(name).isFalse();
        }
    }
}
