package io.cy.coordinator.service;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;

/** Reads the one field the forwarder needs from a relayed StreamPredictResponse, without decoding it. */
final class ResponseFrames {

    /** {@code StreamPredictResponse.end_of_stream} (field 3, varint). */
    private static final int END_OF_STREAM_TAG =
            (io.cy.llm.proto.StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT;

    private ResponseFrames() {}

    /** Whether the message has {@code end_of_stream = true}; false for a message that does not parse. */
    static boolean isEndOfStream(byte[] message) {
        final CodedInputStream in = CodedInputStream.newInstance(message);
        try {
            boolean endOfStream = false;
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (tag == END_OF_STREAM_TAG) {
                    endOfStream = in.readBool();
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
            return endOfStream;
        } catch (IOException e) {
            return false;
        }
    }
}
