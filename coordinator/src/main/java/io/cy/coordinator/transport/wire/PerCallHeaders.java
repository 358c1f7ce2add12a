package io.cy.coordinator.transport.wire;

import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.util.AsciiString;
import java.util.Arrays;

/**
 * The headers whose values differ from call to call (trace ids, the remaining deadline, a status
 * message): HPACK sends them as literals never indexed. Indexed, each call would add its value to
 * the connection's dynamic table and push an older entry out, on both sides, for a value no later
 * call sends again; the constant headers around them would be evicted too and sent as literals.
 */
final class PerCallHeaders implements Http2HeadersEncoder.SensitivityDetector {

    static final PerCallHeaders INSTANCE = new PerCallHeaders();

    private static final AsciiString[] NAMES = {
            AsciiString.cached("trace-id"),
            AsciiString.cached("x-request-id"),
            AsciiString.cached("traceparent"),
            AsciiString.cached("tracestate"),
            GrpcWire.GRPC_TIMEOUT,
            GrpcWire.GRPC_MESSAGE};
    // Derived from NAMES, so that a name added there is never turned away by the quick checks.
    private static final int MIN_LENGTH = Arrays.stream(NAMES).mapToInt(AsciiString::length).min().orElse(0);
    private static final int MAX_LENGTH = Arrays.stream(NAMES).mapToInt(AsciiString::length).max().orElse(-1);
    private static final String FIRST_CHARACTERS = Arrays.stream(NAMES)
            .map(n -> String.valueOf(n.charAt(0))).distinct().reduce("", String::concat);

    private PerCallHeaders() {}

    @Override
    public boolean isSensitive(CharSequence name, CharSequence value) {
        // Asked for every header of every call: most names are turned away by their length and
        // first character, before any hashing or comparing.
        final int length = name.length();
        if (length < MIN_LENGTH || length > MAX_LENGTH || FIRST_CHARACTERS.indexOf(name.charAt(0)) < 0) {
            return false;
        }
        for (AsciiString known : NAMES) {
            if (known.length() == length && known.contentEquals(name)) {
                return true;
            }
        }
        return false;
    }
}
