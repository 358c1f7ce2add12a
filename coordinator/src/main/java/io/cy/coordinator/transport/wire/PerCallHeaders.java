package io.cy.coordinator.transport.wire;

import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.util.AsciiString;
import java.util.Set;

/**
 * The headers whose values differ from call to call (trace ids, the remaining deadline, a status
 * message): HPACK sends them as literals never indexed. Indexed, each call would add its value to
 * the connection's dynamic table and push an older entry out, on both sides, for a value no later
 * call sends again; the constant headers around them would be evicted too and sent as literals.
 */
final class PerCallHeaders implements Http2HeadersEncoder.SensitivityDetector {

    static final PerCallHeaders INSTANCE = new PerCallHeaders();

    private static final Set<AsciiString> NAMES = Set.of(
            AsciiString.cached("trace-id"),
            AsciiString.cached("x-request-id"),
            AsciiString.cached("traceparent"),
            AsciiString.cached("tracestate"),
            GrpcWire.GRPC_TIMEOUT,
            GrpcWire.GRPC_MESSAGE);

    private PerCallHeaders() {}

    @Override
    public boolean isSensitive(CharSequence name, CharSequence value) {
        return NAMES.contains(name instanceof AsciiString a ? a : AsciiString.of(name));
    }
}
