package io.cy.coordinator.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnknownFieldSet;
import io.cy.llm.proto.StreamPredictResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ResponseFramesTest {

    private static final StreamPredictResponse LAST = StreamPredictResponse.newBuilder()
            .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d").setEndOfStream(true).setIndex(16)
            .setTtftMs(0.25f).setTokensPerSec(12345.5f).build();
    private static final StreamPredictResponse CHUNK = StreamPredictResponse.newBuilder()
            .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d").setChunk("lorem ").setIndex(7).build();

    @Test
    void findsTheEndOfStreamAmongTheOtherFields() {
        assertThat(ResponseFrames.isEndOfStream(LAST.toByteArray())).isTrue();
        assertThat(ResponseFrames.isEndOfStream(CHUNK.toByteArray())).isFalse();
        assertThat(ResponseFrames.isEndOfStream(new byte[0])).isFalse();
        assertThat(ResponseFrames.isEndOfStream(StreamPredictResponse.newBuilder().setEndOfStream(true).build()
                .toByteArray())).isTrue();
    }

    @Test
    void skipsFieldsItDoesNotKnowOfEveryWireType() throws IOException {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeFixed64(20, 1L << 60);
        out.writeBytes(21, ByteString.copyFromUtf8("x".repeat(300)));
        out.writeFixed32(22, 7);
        out.writeUInt64(1000, Long.MAX_VALUE);
        out.writeBool(StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER, true);
        out.flush();
        final byte[] message = bytes.toByteArray();

        assertThat(ResponseFrames.isEndOfStream(message)).isTrue();
        // Protobuf itself reads it the same way.
        final StreamPredictResponse parsed = StreamPredictResponse.parseFrom(message);
        assertThat(parsed.getEndOfStream()).isTrue();
        assertThat(parsed.getUnknownFields()).isNotEqualTo(UnknownFieldSet.getDefaultInstance());
    }

    @Test
    void theLastValueOfARepeatedFieldCounts() throws IOException {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeBool(StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER, true);
        out.writeBool(StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER, false);
        out.flush();

        assertThat(ResponseFrames.isEndOfStream(bytes.toByteArray())).isFalse();
    }

    @Test
    void aMessageThatDoesNotParseIsNotTheEnd() {
        final byte[] last = LAST.toByteArray();
        // Cut anywhere after the end_of_stream field: a truncated later field makes the whole message unreadable.
        for (int cut = 1; cut < last.length; cut++) {
            final byte[] truncated = Arrays.copyOf(last, cut);
            boolean parses;
            try {
                StreamPredictResponse.parseFrom(truncated);
                parses = true;
            } catch (IOException e) {
                parses = false;
            }
            if (!parses) {
                assertThat(ResponseFrames.isEndOfStream(truncated)).as("cut at %d", cut).isFalse();
            }
        }
        // Field number 0, a group start (wire type 3), a varint longer than 10 bytes.
        assertThat(ResponseFrames.isEndOfStream(new byte[] {0x00, 0x01})).isFalse();
        assertThat(ResponseFrames.isEndOfStream(new byte[] {0x18, 0x01, 0x0b})).isFalse();
        final byte[] longVarint = new byte[13];
        longVarint[0] = 0x18;
        Arrays.fill(longVarint, 1, 12, (byte) 0xff);
        longVarint[12] = 0x01;
        assertThat(ResponseFrames.isEndOfStream(longVarint)).isFalse();
    }
}
