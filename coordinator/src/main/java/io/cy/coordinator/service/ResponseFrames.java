package io.cy.coordinator.service;

import com.google.protobuf.WireFormat;

/**
 * Reads the one field the forwarder needs from a relayed StreamPredictResponse, without decoding
 * it: a walk over the tags in place, as {@code CodedInputStream.skipField} would make, but
 * without a decoder object per relayed message.
 */
final class ResponseFrames {

    /** {@code StreamPredictResponse.end_of_stream} (field 3, varint). */
    private static final int END_OF_STREAM_TAG =
            (io.cy.llm.proto.StreamPredictResponse.END_OF_STREAM_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT;
    private static final int MAX_VARINT_BYTES = 10;

    private ResponseFrames() {}

    /** Whether the message has {@code end_of_stream = true}; false for a message that does not parse. */
    static boolean isEndOfStream(byte[] message) {
        final int end = message.length;
        int pos = 0;
        boolean endOfStream = false;
        while (pos < end) {
            // The tag: a varint of at most 5 bytes; field number 0 is invalid.
            long tag = 0;
            int shift = 0;
            byte b;
            do {
                if (pos >= end || shift >= 35) {
                    return false;
                }
                b = message[pos++];
                tag |= (long) (b & 0x7f) << shift;
                shift += 7;
            } while (b < 0);
            if (tag >>> 3 == 0 || tag > 0xffffffffL) {
                return false;
            }
            switch ((int) tag & 7) {
                case WireFormat.WIRETYPE_VARINT: {
                    long value = 0;
                    shift = 0;
                    do {
                        if (pos >= end || shift >= 7 * MAX_VARINT_BYTES) {
                            return false;
                        }
                        b = message[pos++];
                        value |= (long) (b & 0x7f) << shift;
                        shift += 7;
                    } while (b < 0);
                    if (tag == END_OF_STREAM_TAG) {
                        endOfStream = value != 0;
                    }
                    break;
                }
                case WireFormat.WIRETYPE_FIXED64:
                    pos += 8;
                    break;
                case WireFormat.WIRETYPE_FIXED32:
                    pos += 4;
                    break;
                case WireFormat.WIRETYPE_LENGTH_DELIMITED: {
                    long length = 0;
                    shift = 0;
                    do {
                        if (pos >= end || shift >= 35) {
                            return false;
                        }
                        b = message[pos++];
                        length |= (long) (b & 0x7f) << shift;
                        shift += 7;
                    } while (b < 0);
                    if (length > end - pos) {
                        return false;
                    }
                    pos += (int) length;
                    break;
                }
                default:
                    // Groups are not in this message, and wire types 6 and 7 do not exist.
                    return false;
            }
        }
        return pos == end && endOfStream;
    }
}
