package io.cy.bench.jmh;

import io.cy.coordinator.transport.wire.GrpcWire;
import io.grpc.Metadata;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A call's headers as HPACK decoding leaves them, made into the call's metadata, and its bearer
 * token read from it as authentication reads it: once per call on the front connection (and for
 * a response's trailers on the sidecar's).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MetadataFromHeadersBenchmark {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private Http2Headers clientHeaders;

    @Setup
    public void setUp() {
        // An HS256 JWT of the size cy-bench's token has.
        final String jwt = "eyJhbGciOiJIUzI1NiJ9."
                + "eyJzdWIiOiJiZW5jaCIsInRlbmFudCI6ImJlbmNoIiwiaWF0IjoxNzY1MDAwMDAwLCJleHAiOjE3NjUwMDM2MDB9"
                + ".c2lnbmF0dXJlLW9mLXRoZS1iZW5jaC10b2tlbi0wMTIzNDU2Nzg5";
        clientHeaders = new DefaultHttp2Headers()
                .method(ascii("POST")).scheme(ascii("http")).path(ascii("/cy.llm.AiInference/StreamPredict"))
                .authority(ascii("127.0.0.1:50050"))
                .add(ascii("content-type"), ascii("application/grpc"))
                .add(ascii("te"), ascii("trailers"))
                .add(ascii("authorization"), ascii("Bearer " + jwt))
                .add(ascii("user-agent"), ascii("grpc-java-netty/1.85.1"))
                .add(ascii("grpc-accept-encoding"), ascii("gzip"))
                .add(ascii("grpc-timeout"), ascii("29999876u"))
                .add(ascii("trace-id"), ascii("0cb12992-7f0c-4a52-9a8e-3f2d2c1e0b9d"));
    }

    @Benchmark
    public String clientHeadersToMetadata() {
        return GrpcWire.metadata(clientHeaders).get(AUTHORIZATION);
    }

    private static AsciiString ascii(String s) {
        return new AsciiString(s);
    }
}
