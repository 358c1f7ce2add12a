package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** The gRPC-over-HTTP/2 wire format: message prefixes, headers and trailers in, headers out. */
class GrpcWireTest {

    private static final Metadata.Key<String> X_A = Metadata.Key.of("x-a", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> X_B = Metadata.Key.of("x-b", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<byte[]> X_BIN = Metadata.Key.of("x-bin", Metadata.BINARY_BYTE_MARSHALLER);

    private static List<String> values(Http2Headers headers, String name) {
        final List<String> values = new ArrayList<>();
        headers.getAll(name).forEach(value -> values.add(value.toString()));
        return values;
    }

    private static List<byte[]> binaryValues(Metadata metadata) {
        final List<byte[]> values = new ArrayList<>();
        final Iterable<byte[]> all = metadata.getAll(X_BIN);
        if (all != null) {
            all.forEach(values::add);
        }
        return values;
    }

    /** The nanoseconds a grpc-timeout value stands for. */
    private static long nanosOf(String timeout) {
        final long value = Long.parseLong(timeout.substring(0, timeout.length() - 1));
        switch (timeout.charAt(timeout.length() - 1)) {
            case 'n':
                return value;
            case 'u':
                return TimeUnit.MICROSECONDS.toNanos(value);
            case 'm':
                return TimeUnit.MILLISECONDS.toNanos(value);
            case 'S':
                return TimeUnit.SECONDS.toNanos(value);
            case 'M':
                return TimeUnit.MINUTES.toNanos(value);
            case 'H':
                return TimeUnit.HOURS.toNanos(value);
            default:
                throw new IllegalArgumentException(timeout);
        }
    }

    @Nested
    class Frames {

        @Test
        void messagesAreAppendedEachWithItsPrefix() throws Exception {
            final ByteBuf out = Unpooled.buffer(4);
            try {
                GrpcWire.appendFrame(out, new byte[] {1, 2, 3});
                GrpcWire.appendFrame(out, new ByteArrayInputStream(new byte[] {4, 5}));
                GrpcWire.appendFrame(out, new byte[0]);

                assertThat(ByteBufUtil.getBytes(out)).containsExactly(
                        0, 0, 0, 0, 3, 1, 2, 3,
                        0, 0, 0, 0, 2, 4, 5,
                        0, 0, 0, 0, 0);
            } finally {
                out.release();
            }
        }

        @Test
        void aMarshallersStreamIsFramedInABufferOfItsKnownSize() throws Exception {
            final StreamPredictRequest request = StreamPredictRequest.newBuilder()
                    .setModelId("m")
                    .setPrompt("héllo")
                    .setMetadata(StreamMetadata.newBuilder().setTraceId("t-1").setTenant("acme"))
                    .build();
            final byte[] encoded = request.toByteArray();
            final ByteBuf framed = GrpcWire.frame(PooledByteBufAllocator.DEFAULT,
                    ProtoUtils.marshaller(StreamPredictRequest.getDefaultInstance()).stream(request));
            try {
                assertThat(framed.capacity()).isEqualTo(5 + encoded.length);
                assertThat(framed.readByte()).isZero();
                assertThat(framed.readInt()).isEqualTo(encoded.length);
                assertThat(ByteBufUtil.getBytes(framed)).isEqualTo(encoded);
            } finally {
                framed.release();
            }
        }

        @Test
        void aStreamThatFailsHalfwayLeavesWhatWasAppendedBeforeIntact() {
            final ByteBuf out = Unpooled.buffer();
            try {
                GrpcWire.appendFrame(out, new byte[] {7});
                final InputStream failing = new InputStream() {
                    private int read;

                    @Override
                    public int read() throws IOException {
                        if (read++ < 3) {
                            return 9;
                        }
                        throw new IOException("broken marshaller");
                    }
                };

                assertThatThrownBy(() -> GrpcWire.appendFrame(out, failing)).hasMessage("broken marshaller");
                assertThat(ByteBufUtil.getBytes(out)).containsExactly(0, 0, 0, 0, 1, 7);
            } finally {
                out.release();
            }
        }
    }

    @Nested
    class Timeout {

        @ParameterizedTest(name = "{0} ns -> {1}")
        @CsvSource({
                "1, 1n",
                "999, 999n",
                "99999999, 99999999n",
                "100000000, 100000u",
                "1500000000, 1500000u",
                "99999999000, 99999999u",
                "99999999000000, 99999999m",
                "100000000000000, 100000S",
                "100000000000000000, 1666667M",
        })
        void theFinestUnitThatHoldsEightDigitsIsUsed(long nanos, String expected) {
            assertThat(GrpcWire.timeout(nanos)).isEqualTo(expected);
        }

        @ParameterizedTest(name = "{0} ns -> {1}")
        @CsvSource({
                "100000001, 100001u",
                "100000999, 100001u",
                "99999999001, 100000m",
                "3600000000001, 3600001m",
        })
        void timeoutRoundsUpToTheNextUnit(long nanos, String expected) {
            assertThat(GrpcWire.timeout(nanos)).isEqualTo(expected);
        }

        @ParameterizedTest
        @ValueSource(longs = {0, -1, Long.MIN_VALUE})
        void lessThanANanosecondIsOneNanosecond(long nanos) {
            assertThat(GrpcWire.timeout(nanos)).isEqualTo("1n");
        }

        @Test
        void anHourIsSentInMilliseconds() {
            assertThat(GrpcWire.timeout(TimeUnit.HOURS.toNanos(1))).isEqualTo("3600000m");
        }

        @Test
        void theLongestTimeoutStillHasAtMostEightDigits() {
            final String timeout = GrpcWire.timeout(Long.MAX_VALUE);

            assertThat(timeout).isEqualTo("2562048H").matches("[0-9]{1,8}[numSMH]");
        }

        @Test
        void theTimeoutIsNeverShorterThanWhatIsLeftNorAUnitLonger() {
            long nanos = 1;
            while (nanos > 0 && nanos < Long.MAX_VALUE / 3) {
                for (long n : new long[] {nanos - 1, nanos, nanos + 1}) {
                    final String timeout = GrpcWire.timeout(n);
                    final long sent = nanosOf(timeout);
                    final long unit = nanosOf("1" + timeout.charAt(timeout.length() - 1));

                    assertThat(timeout).as("for %d ns", n).matches("[0-9]{1,8}[numSMH]");
                    assertThat(sent).as("%s for %d ns", timeout, n).isGreaterThanOrEqualTo(Math.max(1, n));
                    assertThat(sent - Math.max(1, n)).as("%s for %d ns", timeout, n).isLessThan(unit);
                }
                nanos = nanos * 3 + 7;
            }
        }
    }

    @Nested
    class StatusFromTrailers {

        @Test
        void grpcStatusAndItsPercentDecodedMessageMakeTheStatus() {
            final Http2Headers trailers = new DefaultHttp2Headers()
                    .set("grpc-status", "5")
                    .set("grpc-message", "model%20%27caf%C3%A9%27 not found: 100%25");

            final Status status = GrpcWire.statusFromTrailers(trailers);

            assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(status.getDescription()).isEqualTo("model 'café' not found: 100%");
        }

        @Test
        void okWithoutAMessageHasNoDescription() {
            final Status status = GrpcWire.statusFromTrailers(new DefaultHttp2Headers().set("grpc-status", "0"));

            assertThat(status.isOk()).isTrue();
            assertThat(status.getDescription()).isNull();
        }

        @Test
        void grpcStatusWinsOverTheHttpStatus() {
            final Http2Headers trailers = new DefaultHttp2Headers().status("503")
                    .set("grpc-status", "8")
                    .set("grpc-message", "busy");

            final Status status = GrpcWire.statusFromTrailers(trailers);

            assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(status.getDescription()).isEqualTo("busy");
        }

        @Test
        void aCodeOutsideTheKnownOnesIsUnknown() {
            final Http2Headers trailers = new DefaultHttp2Headers()
                    .set("grpc-status", "42")
                    .set("grpc-message", "from the future");

            final Status status = GrpcWire.statusFromTrailers(trailers);

            assertThat(status.getCode()).isEqualTo(Status.Code.UNKNOWN);
            assertThat(status.getDescription()).isEqualTo("from the future");
        }

        @Test
        void aNonNumericGrpcStatusIsUnknownNamingTheField() {
            final Http2Headers trailers = new DefaultHttp2Headers()
                    .set("grpc-status", "x")
                    .set("grpc-message", "ignored");

            final Status status = GrpcWire.statusFromTrailers(trailers);

            assertThat(status.getCode()).isEqualTo(Status.Code.UNKNOWN);
            assertThat(status.getDescription()).isEqualTo("grpc-status: 'x' (expected: a status code)");
        }

        @Test
        void withoutGrpcStatusTheHttpStatusDecides() {
            final Http2Headers trailers = new DefaultHttp2Headers().status("503").set("grpc-message", "ignored");

            final Status status = GrpcWire.statusFromTrailers(trailers);

            assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(status.getDescription()).isEqualTo("HTTP status code 503");
        }

        @Test
        void withoutGrpcStatusAnHttpOkIsUnknown() {
            final Status status = GrpcWire.statusFromTrailers(new DefaultHttp2Headers().status("200"));

            assertThat(status.getCode()).isEqualTo(Status.Code.UNKNOWN);
            assertThat(status.getDescription()).isEqualTo("missing grpc-status in the response's trailers");
        }

        @Test
        void emptyTrailersAreUnknown() {
            final Status status = GrpcWire.statusFromTrailers(new DefaultHttp2Headers());

            assertThat(status.getCode()).isEqualTo(Status.Code.UNKNOWN);
            assertThat(status.getDescription()).isEqualTo("missing grpc-status in the response's trailers");
        }
    }

    @Nested
    class StatusFromHttp {

        @ParameterizedTest(name = "{0} -> {1}")
        @CsvSource({
                "400, INTERNAL",
                "401, UNAUTHENTICATED",
                "403, PERMISSION_DENIED",
                "404, UNIMPLEMENTED",
                "429, UNAVAILABLE",
                "502, UNAVAILABLE",
                "503, UNAVAILABLE",
                "504, UNAVAILABLE",
                "100, UNKNOWN",
                "204, UNKNOWN",
                "302, UNKNOWN",
                "405, UNKNOWN",
                "500, UNKNOWN",
        })
        void eachHttpStatusMapsToItsGrpcCode(String httpStatus, Status.Code expected) {
            final Status status = GrpcWire.statusFromHttp(httpStatus);

            assertThat(status.getCode()).isEqualTo(expected);
            assertThat(status.getDescription()).isEqualTo("HTTP status code " + httpStatus);
        }

        @Test
        void twoHundredOrNoStatusIsOk() {
            assertThat(GrpcWire.statusFromHttp(null)).isSameAs(Status.OK);
            assertThat(GrpcWire.statusFromHttp("200")).isSameAs(Status.OK);
            assertThat(GrpcWire.statusFromHttp(AsciiString.of("200"))).isSameAs(Status.OK);
        }

        @Test
        void aNonNumericStatusIsInternalNamingThePseudoHeader() {
            final Status status = GrpcWire.statusFromHttp("abc");

            assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
            assertThat(status.getDescription()).isEqualTo(":status: 'abc' (expected: an HTTP status)");
        }
    }

    @Nested
    class ContentType {

        @ParameterizedTest
        @ValueSource(strings = {"application/grpc", "application/grpc+proto", "application/grpc+json",
                "application/grpc;charset=utf-8", "APPLICATION/GRPC", "Application/gRPC+Proto"})
        void grpcContentTypesAreRecognizedInAnyCase(String contentType) {
            assertThat(GrpcWire.isGrpcContentType(contentType)).isTrue();
            assertThat(GrpcWire.isGrpcContentType(AsciiString.of(contentType))).isTrue();
        }

        @ParameterizedTest
        @NullAndEmptySource
        @ValueSource(strings = {"text/html", "application/json", "application/grpc-web", "application/grpc-web+proto",
                "application/grpcx", "application/grp", " application/grpc"})
        void otherContentTypesAreNotGrpc(String contentType) {
            assertThat(GrpcWire.isGrpcContentType(contentType)).isFalse();
        }
    }

    @Nested
    class DecodeMessage {

        @Test
        void aMessageWithoutEscapesIsUnchanged() {
            assertThat(GrpcWire.decodeMessage("model not found: llama-3")).isEqualTo("model not found: llama-3");
        }

        @ParameterizedTest(name = "{0} -> {1}")
        @CsvSource(delimiter = '|', value = {
                "100%25|100%",
                "a%20b|a b",
                "caf%C3%A9|café",
                "caf%c3%a9|café",
                "%E2%82%AC5|€5",
                "%F0%9F%98%80!|😀!",
        })
        void utf8BytesArePercentDecoded(String encoded, String decoded) {
            assertThat(GrpcWire.decodeMessage(encoded)).isEqualTo(decoded);
            assertThat(GrpcWire.decodeMessage(AsciiString.of(encoded))).isEqualTo(decoded);
        }

        @ParameterizedTest(name = "{0} -> {1}")
        @CsvSource(delimiter = '|', value = {
                "%zz|%zz",
                "%4g|%4g",
                "50%|50%",
                "%4|%4",
                "a%4|a%4",
                "%|%",
                "%%41|%A",
                "%zz%41|%zzA",
                "%41%|A%",
                "%C3%A9%z|é%z",
        })
        void aMalformedEscapeIsKeptLiterally(String encoded, String decoded) {
            assertThat(GrpcWire.decodeMessage(encoded)).isEqualTo(decoded);
        }

        @Test
        void bytesThatAreNotUtf8BecomeReplacementCharacters() {
            assertThat(GrpcWire.decodeMessage("a%FFb")).isEqualTo("a\uFFFDb");
        }
    }

    @Nested
    class MetadataFromHeaders {

        @Test
        void pseudoAndTransportHeadersAreNotMetadata() {
            final Http2Headers headers = new DefaultHttp2Headers().status("200")
                    .set("grpc-status", "0")
                    .set("grpc-message", "ok")
                    .set("grpc-timeout", "1S")
                    .set("content-type", "application/grpc")
                    .set("grpc-encoding", "identity")
                    .set("grpc-accept-encoding", "gzip")
                    .set("te", "trailers")
                    .set("user-agent", "sidecar/1")
                    .set("content-length", "0")
                    .set("x-a", "kept");

            final Metadata metadata = GrpcWire.metadata(headers);

            assertThat(metadata.keys()).containsExactly("x-a");
            assertThat(metadata.get(X_A)).isEqualTo("kept");
        }

        @Test
        void transportHeadersGivenAsAsciiStringsAreNotMetadataEither() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .set(AsciiString.of("grpc-status"), AsciiString.of("0"))
                    .set(AsciiString.of("content-type"), AsciiString.of("application/grpc"))
                    .set(AsciiString.of("x-a"), AsciiString.of("kept"));

            assertThat(GrpcWire.metadata(headers).keys()).containsExactly("x-a");
        }

        @Test
        void binaryValuesAreBase64DecodedPaddedOrNot() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .add("x-bin", "AQI=")
                    .add("x-bin", "AQI")
                    .add("x-bin", "/w==")
                    .add("x-bin", "/w")
                    .add("x-bin", "AAECAw");

            final List<byte[]> values = binaryValues(GrpcWire.metadata(headers));

            assertThat(values).containsExactly(new byte[] {1, 2}, new byte[] {1, 2}, new byte[] {(byte) 0xFF},
                    new byte[] {(byte) 0xFF}, new byte[] {0, 1, 2, 3});
        }

        @Test
        void anInvalidEntryIsSkippedAndTheRestKept() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .add("x-a", "before")
                    .add("x-bin", "not base64!")
                    .add("x!y", "bad name")
                    .add("x-bin", "AQI")
                    .add("x-b", "after");

            final Metadata metadata = GrpcWire.metadata(headers);

            assertThat(metadata.keys()).containsExactlyInAnyOrder("x-a", "x-bin", "x-b");
            assertThat(metadata.get(X_A)).isEqualTo("before");
            assertThat(metadata.get(X_B)).isEqualTo("after");
            assertThat(binaryValues(metadata)).containsExactly(new byte[] {1, 2});
        }

        @Test
        void repeatedKeysKeepAllTheirValuesInOrder() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .add("x-a", "1")
                    .add("x-b", "only")
                    .add("x-a", "2")
                    .add("x-bin", "AQ")
                    .add("x-a", "3")
                    .add("x-bin", "Ag");

            final Metadata metadata = GrpcWire.metadata(headers);

            assertThat(metadata.getAll(X_A)).containsExactly("1", "2", "3");
            assertThat(metadata.getAll(X_B)).containsExactly("only");
            assertThat(binaryValues(metadata)).containsExactly(new byte[] {1}, new byte[] {2});
        }

        @Test
        void binaryValuesJoinedWithACommaAreEachDecoded() {
            final Http2Headers headers = new DefaultHttp2Headers().add("x-bin", "AQI,Aw");

            final List<byte[]> values = binaryValues(GrpcWire.metadata(headers));

            assertThat(values)
                    .as("PROTOCOL-HTTP2.md: duplicate header names may have their values joined with ','")
                    .containsExactly(new byte[] {1, 2}, new byte[] {3});
        }

        @Test
        void plainEntriesKeepTheirOrderAndTheMetadataTakesMore() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .add("x-a", "1")
                    .add("x-b", "only")
                    .add("x-a", "2");

            final Metadata metadata = GrpcWire.metadata(headers);
            metadata.put(X_A, "3");

            assertThat(metadata.getAll(X_A)).containsExactly("1", "2", "3");
            assertThat(metadata.getAll(X_B)).containsExactly("only");
        }

        @Test
        void aValueWithBytesOutsideAsciiReadsAsAStringValueWouldBePut() {
            final Http2Headers headers = new DefaultHttp2Headers()
                    .add(AsciiString.of("x-a"), new AsciiString(new byte[] {'o', 'k', (byte) 0xE9}, false))
                    .add("x-b", "plain");

            final Metadata metadata = GrpcWire.metadata(headers);

            assertThat(metadata.get(X_A)).isEqualTo("ok?");
            assertThat(metadata.get(X_B)).isEqualTo("plain");
        }

        @Test
        void anUpperCaseNameIsTakenAsItsKey() {
            final Http2Headers headers = new DefaultHttp2Headers(false).add("X-A", "v").add("x-b", "w");

            final Metadata metadata = GrpcWire.metadata(headers);

            assertThat(metadata.get(X_A)).isEqualTo("v");
            assertThat(metadata.get(X_B)).isEqualTo("w");
        }

        @Test
        void noHeadersMeansNoMetadata() {
            assertThat(GrpcWire.metadata(new DefaultHttp2Headers().status("200")).keys()).isEmpty();
        }
    }

    @Nested
    class MetadataToHeaders {

        @Test
        void asciiValuesAreCopiedInOrder() {
            final Metadata metadata = new Metadata();
            metadata.put(X_A, "1");
            metadata.put(X_B, "only");
            metadata.put(X_A, "2");
            final Http2Headers headers = new DefaultHttp2Headers();

            GrpcWire.addMetadata(headers, metadata);

            assertThat(values(headers, "x-a")).containsExactly("1", "2");
            assertThat(values(headers, "x-b")).containsExactly("only");
            assertThat(headers.size()).isEqualTo(3);
        }

        @Test
        void binaryValuesAreBase64EncodedWithoutPadding() {
            final Metadata metadata = new Metadata();
            metadata.put(X_BIN, new byte[] {1, 2});
            metadata.put(X_BIN, new byte[] {(byte) 0xFF});
            metadata.put(X_BIN, new byte[] {0, 1, 2});
            metadata.put(X_BIN, new byte[0]);
            final Http2Headers headers = new DefaultHttp2Headers();

            GrpcWire.addMetadata(headers, metadata);

            assertThat(values(headers, "x-bin")).containsExactly("AQI", "/w", "AAEC", "");
        }

        @Test
        void existingHeadersAreKept() {
            final Metadata metadata = new Metadata();
            metadata.put(X_A, "1");
            final Http2Headers headers = new DefaultHttp2Headers()
                    .path("/svc/Method")
                    .set("content-type", "application/grpc")
                    .set("x-a", "0");

            GrpcWire.addMetadata(headers, metadata);

            assertThat(headers.path().toString()).isEqualTo("/svc/Method");
            assertThat(values(headers, "content-type")).containsExactly("application/grpc");
            assertThat(values(headers, "x-a")).containsExactly("0", "1");
        }

        @Test
        void metadataSurvivesTheRoundTripThroughHeaders() {
            final byte[] everyByte = new byte[256];
            for (int i = 0; i < everyByte.length; i++) {
                everyByte[i] = (byte) i;
            }
            final Metadata sent = new Metadata();
            sent.put(X_A, "first");
            sent.put(X_BIN, everyByte);
            sent.put(X_B, "trace 7f3a");
            sent.put(X_A, "second");
            sent.put(X_BIN, new byte[] {0});
            sent.put(X_BIN, new byte[] {(byte) 0x80, 0x7F});
            final Http2Headers headers = new DefaultHttp2Headers();

            GrpcWire.addMetadata(headers, sent);
            final Metadata received = GrpcWire.metadata(headers);

            assertThat(received.keys()).containsExactlyInAnyOrderElementsOf(sent.keys());
            assertThat(received.getAll(X_A)).containsExactly("first", "second");
            assertThat(received.getAll(X_B)).containsExactly("trace 7f3a");
            assertThat(binaryValues(received)).containsExactly(everyByte, new byte[] {0}, new byte[] {(byte) 0x80, 0x7F});
        }
    }

    @Nested
    class AcceptEncoding {

        @Test
        void gzipIsFoundAnywhereInTheListWithOrWithoutSpaces() {
            assertThat(GrpcWire.acceptsGzip("gzip")).isTrue();
            assertThat(GrpcWire.acceptsGzip("identity,gzip")).isTrue();
            assertThat(GrpcWire.acceptsGzip("deflate, gzip ,identity")).isTrue();
            assertThat(GrpcWire.acceptsGzip(io.netty.util.AsciiString.of("identity, gzip"))).isTrue();
        }

        @Test
        void aListWithoutGzipOrNoHeaderIsNotAcceptance() {
            assertThat(GrpcWire.acceptsGzip(null)).isFalse();
            assertThat(GrpcWire.acceptsGzip("")).isFalse();
            assertThat(GrpcWire.acceptsGzip("identity,deflate")).isFalse();
            assertThat(GrpcWire.acceptsGzip("gzipx, xgzip, gzi")).isFalse();
            assertThat(GrpcWire.acceptsGzip(",,")).isFalse();
        }
    }
}
