package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepeatedHeaderBlocksTest {

    /** Netty's decoder, counting the blocks it decodes (one set of headers made per block). */
    private static final class CountingDecoder extends DefaultHttp2HeadersDecoder {
        int decoded;

        CountingDecoder() {
            super(true, 8192L, -1);
        }

        @Override
        protected Http2Headers newHeaders() {
            decoded++;
            return super.newHeaders();
        }
    }

    private final CountingDecoder netty = new CountingDecoder();
    private final RepeatedHeaderBlocks blocks = new RepeatedHeaderBlocks(netty);

    /** A call's headers as nghttp2 sends them: the token never indexed, everything else indexed. */
    private static Http2Headers request(String token) {
        return new DefaultHttp2Headers()
                .method("POST").scheme("http").authority("127.0.0.1:50050").path("/cy.llm.AiInference/StreamPredict")
                .add("content-type", "application/grpc").add("te", "trailers")
                .add("authorization", "Bearer " + token);
    }

    private static ByteBuf encode(DefaultHttp2HeadersEncoder encoder, Http2Headers headers) throws Http2Exception {
        final ByteBuf out = Unpooled.buffer();
        encoder.encodeHeaders(1, headers, out);
        return out;
    }

    private static DefaultHttp2HeadersEncoder nghttp2Like() {
        return new DefaultHttp2HeadersEncoder((name, value) -> AsciiString.contentEqualsIgnoreCase(name, "authorization"));
    }

    private static ByteBuf bytes(int... b) {
        final ByteBuf out = Unpooled.buffer(b.length);
        for (int x : b) {
            out.writeByte(x);
        }
        return out;
    }

    /** A literal with incremental indexing and a new name: added to the dynamic table at index 62. */
    private static ByteBuf added(String name, String value) {
        final ByteBuf out = Unpooled.buffer();
        out.writeByte(0x40);
        out.writeByte(name.length()).writeBytes(name.getBytes(StandardCharsets.US_ASCII));
        out.writeByte(value.length()).writeBytes(value.getBytes(StandardCharsets.US_ASCII));
        return out;
    }

    @Test
    void aBlockThatComesAThirdTimeIsAnsweredWithoutDecodingWithHeadersNoCallCanChange() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = nghttp2Like();
        // The first block adds the constant headers to the table: it is decoded, and not kept.
        final Http2Headers first = blocks.decodeHeaders(1, encode(encoder, request("token-1")));
        final ByteBuf again = encode(encoder, request("token-1"));
        final ByteBuf third = again.copy();
        final ByteBuf fourth = again.copy();

        final Http2Headers second = blocks.decodeHeaders(3, again);
        final Http2Headers fromThird = blocks.decodeHeaders(5, third);
        assertThat(netty.decoded).isEqualTo(3);
        final Http2Headers fromFourth = blocks.decodeHeaders(7, fourth);

        assertThat(netty.decoded).as("the fourth block was answered from the third").isEqualTo(3);
        assertThat(fourth.isReadable()).isFalse();
        for (Http2Headers h : new Http2Headers[] {second, fromThird, fromFourth}) {
            assertThat(entries(h)).isEqualTo(entries(first));
            assertThat(h.get("authorization")).hasToString("Bearer token-1");
            assertThat(h.method()).hasToString("POST");
            assertThat(h.path()).hasToString("/cy.llm.AiInference/StreamPredict");
        }
        assertThat(blocks.decodeHeaders(9, again.copy(0, again.writerIndex()))).isSameAs(fromFourth);
        assertThatThrownBy(() -> fromFourth.set("authorization", "changed"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(blocks.decodeHeaders(11, again.copy(0, again.writerIndex())).get("authorization"))
                .hasToString("Bearer token-1");
    }

    @Test
    void responseHeadersAndTrailersAreSharedAsWell() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
        final Http2Headers response = new DefaultHttp2Headers().status("200")
                .add("content-type", "application/grpc").add("grpc-encoding", "identity");
        blocks.decodeHeaders(1, encode(encoder, response));
        final ByteBuf again = encode(encoder, response);
        blocks.decodeHeaders(3, again.copy());
        blocks.decodeHeaders(5, again.copy());
        final Http2Headers fourth = blocks.decodeHeaders(7, again.copy());

        assertThat(blocks.decodeHeaders(9, again.copy())).isSameAs(fourth);
        assertThat(fourth.status()).hasToString("200");
        assertThat(entries(fourth)).isEqualTo(entries(response));

        final Http2Headers trailers = new DefaultHttp2Headers().add("grpc-status", "0");
        blocks.decodeHeaders(9, encode(encoder, trailers));
        final ByteBuf trailerBlock = encode(encoder, trailers);
        for (int i = 0; i < 3; i++) {
            blocks.decodeHeaders(11 + 2 * i, trailerBlock.copy());
        }
        final Http2Headers shared = blocks.decodeHeaders(17, trailerBlock.copy());
        assertThat(blocks.decodeHeaders(19, trailerBlock.copy())).isSameAs(shared);
        assertThat(entries(shared)).isEqualTo(entries(trailers));
    }

    @Test
    void twoBlocksThatTakeTurnsAreBothAnsweredWithoutDecodingAndAThirdIsNotMistakenForEither() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
        final Http2Headers response = new DefaultHttp2Headers().status("200").add("content-type", "application/grpc");
        final Http2Headers trailers = new DefaultHttp2Headers().add("grpc-status", "0");
        final Http2Headers failed = new DefaultHttp2Headers().add("grpc-status", "14");
        // Into the table, then the blocks that only index it.
        blocks.decodeHeaders(1, encode(encoder, response));
        blocks.decodeHeaders(1, encode(encoder, trailers));
        blocks.decodeHeaders(3, encode(encoder, failed));
        final ByteBuf responseBlock = encode(encoder, response);
        final ByteBuf trailersBlock = encode(encoder, trailers);
        final ByteBuf failedBlock = encode(encoder, failed);
        for (int i = 0; i < 2; i++) {
            blocks.decodeHeaders(5, responseBlock.copy());
            blocks.decodeHeaders(5, trailersBlock.copy());
        }
        final int before = netty.decoded;

        for (int i = 0; i < 3; i++) {
            assertThat(blocks.decodeHeaders(7, responseBlock.copy()).status()).hasToString("200");
            assertThat(blocks.decodeHeaders(7, trailersBlock.copy()).get("grpc-status")).hasToString("0");
        }
        assertThat(netty.decoded).as("both answered from the blocks kept").isEqualTo(before);

        // A third block takes the place of the one used longest ago, the response's.
        assertThat(blocks.decodeHeaders(9, failedBlock.copy()).get("grpc-status")).hasToString("14");
        assertThat(blocks.decodeHeaders(9, trailersBlock.copy()).get("grpc-status")).hasToString("0");
        assertThat(netty.decoded).isEqualTo(before + 1);
        assertThat(blocks.decodeHeaders(11, responseBlock.copy()).status()).hasToString("200");
        assertThat(netty.decoded).isEqualTo(before + 2);
    }

    @Test
    void aBlockThatAddsToTheTableForgetsBothBlocksKept() throws Exception {
        blocks.decodeHeaders(1, added("x-a", "1"));
        blocks.decodeHeaders(1, added("x-b", "2"));
        // x-b at 62, x-a at 63.
        for (int i = 0; i < 2; i++) {
            blocks.decodeHeaders(3, bytes(0xBE));
            blocks.decodeHeaders(3, bytes(0xBF));
        }

        // Now x-c at 62, x-b at 63.
        blocks.decodeHeaders(5, added("x-c", "3"));

        assertThat(blocks.decodeHeaders(7, bytes(0xBE)).get("x-c")).hasToString("3");
        assertThat(blocks.decodeHeaders(7, bytes(0xBF)).get("x-b")).hasToString("2");
    }

    @Test
    void blocksWhoseHeadersCannotBeSharedAreCopiedForEachCall() throws Exception {
        final Http2Headers withLength = request("token-1").add("content-length", "42");
        final Http2Headers withoutAuthority = new DefaultHttp2Headers()
                .method("POST").scheme("http").path("/cy.llm.AiInference/StreamPredict")
                .add("content-type", "application/grpc");
        final Http2Headers withProtocol = request("token-1").set(":protocol", "websocket");
        for (Http2Headers headers : List.of(withLength, withoutAuthority, withProtocol)) {
            final CountingDecoder decoder = new CountingDecoder();
            final RepeatedHeaderBlocks fresh = new RepeatedHeaderBlocks(decoder);
            final DefaultHttp2HeadersEncoder encoder = nghttp2Like();
            fresh.decodeHeaders(1, encode(encoder, headers));
            final ByteBuf again = encode(encoder, headers);
            fresh.decodeHeaders(3, again.copy());
            fresh.decodeHeaders(5, again.copy());
            final Http2Headers fourth = fresh.decodeHeaders(7, again.copy());
            final Http2Headers fifth = fresh.decodeHeaders(9, again.copy());

            assertThat(decoder.decoded).as("answered from the block kept: %s", headers).isEqualTo(3);
            assertThat(fifth).isNotSameAs(fourth);
            assertThat(entries(fourth)).isEqualTo(entries(headers));
            // Netty's decoder writes content-length back into what it is given.
            fourth.setLong("content-length", 42);
            assertThat(String.valueOf(fresh.decodeHeaders(11, again.copy()).get("content-length")))
                    .isEqualTo(String.valueOf(headers.get("content-length")));
        }
    }

    @Test
    void anotherTokenIsDecodedAndNotTakenForTheOneBefore() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = nghttp2Like();
        blocks.decodeHeaders(1, encode(encoder, request("token-1")));
        for (int i = 0; i < 3; i++) {
            blocks.decodeHeaders(3 + 2 * i, encode(encoder, request("token-1")));
        }
        final int before = netty.decoded;

        final Http2Headers other = blocks.decodeHeaders(11, encode(encoder, request("token-2")));

        assertThat(netty.decoded).isEqualTo(before + 1);
        assertThat(other.get("authorization")).hasToString("Bearer token-2");
        assertThat(blocks.decodeHeaders(13, encode(encoder, request("token-1"))).get("authorization"))
                .hasToString("Bearer token-1");
    }

    @Test
    void aBlockThatAddsToTheTableBetweenTwoRepeatsMakesTheSameBytesMeanTheNewEntry() throws Exception {
        blocks.decodeHeaders(1, added("x-a", "1"));
        final ByteBuf indexed62 = bytes(0xBE);
        assertThat(blocks.decodeHeaders(3, indexed62.copy()).get("x-a")).hasToString("1");
        assertThat(blocks.decodeHeaders(5, indexed62.copy()).get("x-a")).hasToString("1");

        // Index 62 is now x-b: 2, and x-a: 1 moved to 63.
        blocks.decodeHeaders(7, added("x-b", "2"));
        final Http2Headers after = blocks.decodeHeaders(9, indexed62.copy());

        assertThat(after.get("x-a")).isNull();
        assertThat(after.get("x-b")).hasToString("2");
    }

    @Test
    void aRepeatedBlockThatAddsToTheTableIsDecodedEveryTimeSoTheTableHoldsEveryEntry() throws Exception {
        for (int i = 0; i < 3; i++) {
            blocks.decodeHeaders(1 + 2 * i, added("x-a", "1"));
        }

        // Three entries: 62, 63 and 64.
        assertThat(blocks.decodeHeaders(7, bytes(0xC0)).get("x-a")).hasToString("1");
        assertThat(netty.decoded).isEqualTo(4);
    }

    @Test
    void aTableSizeUpdateIsDecodedAndForgetsTheBlockKept() throws Exception {
        blocks.decodeHeaders(1, added("x-a", "1"));
        blocks.decodeHeaders(3, bytes(0xBE));
        blocks.decodeHeaders(5, bytes(0xBE));

        // Size 0 empties the table.
        blocks.decodeHeaders(7, bytes(0x20));

        assertThatThrownBy(() -> blocks.decodeHeaders(9, bytes(0xBE))).isInstanceOf(Http2Exception.class);
    }

    @Test
    void aSmallerTableInTheSettingsIsLeftToTheDecoderToEnforce() throws Exception {
        blocks.decodeHeaders(1, added("x-a", "1"));
        blocks.decodeHeaders(3, bytes(0xBE));
        blocks.decodeHeaders(5, bytes(0xBE));

        blocks.configuration().maxHeaderTableSize(0);

        // The peer must acknowledge a smaller table at the start of its next block; this one does not.
        assertThatThrownBy(() -> blocks.decodeHeaders(7, bytes(0xBE))).isInstanceOf(Http2Exception.class);
        assertThat(blocks.configuration().maxHeaderTableSize()).isZero();
    }

    @Test
    void aLimitChangedInTheSettingsIsPassedOnAndForgetsTheBlockKept() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = nghttp2Like();
        blocks.decodeHeaders(1, encode(encoder, request("token-1")));
        final ByteBuf repeated = encode(encoder, request("token-1"));
        blocks.decodeHeaders(3, repeated.copy());
        blocks.decodeHeaders(5, repeated.copy());

        blocks.configuration().maxHeaderListSize(64, 64);

        assertThat(blocks.configuration().maxHeaderListSize()).isEqualTo(64);
        assertThat(blocks.configuration().maxHeaderListSizeGoAway()).isEqualTo(64);
        assertThatThrownBy(() -> blocks.decodeHeaders(7, repeated.copy())).isInstanceOf(Http2Exception.class);
    }

    @Test
    void aBlockTheDecoderRefusesForgetsTheBlockKept() throws Exception {
        blocks.decodeHeaders(1, added("x-a", "1"));
        blocks.decodeHeaders(3, bytes(0xBE));
        blocks.decodeHeaders(5, bytes(0xBE));
        final int before = netty.decoded;

        // Index 70 is past the table.
        assertThatThrownBy(() -> blocks.decodeHeaders(7, bytes(0xC6))).isInstanceOf(Http2Exception.class);
        blocks.decodeHeaders(9, bytes(0xBE));

        assertThat(netty.decoded).isEqualTo(before + 2);
    }

    @Test
    void largeBlocksAreDecodedEveryTime() throws Exception {
        final DefaultHttp2HeadersEncoder encoder = nghttp2Like();
        final String token = "t".repeat(2 * RepeatedHeaderBlocks.MAX_KEPT_BYTES);
        blocks.decodeHeaders(1, encode(encoder, request(token)));
        final ByteBuf repeated = encode(encoder, request(token));
        assertThat(repeated.readableBytes()).isGreaterThan(RepeatedHeaderBlocks.MAX_KEPT_BYTES);

        for (int i = 0; i < 3; i++) {
            assertThat(blocks.decodeHeaders(3 + 2 * i, repeated.copy()).get("authorization"))
                    .hasToString("Bearer " + token);
        }

        assertThat(netty.decoded).isEqualTo(4);
    }

    @Test
    void readsWhetherABlockKeepsTheTable() {
        // Indexed :method GET; a literal without indexing, then one never indexed, each with a name index.
        assertThat(keepsTable(0x82, 0x04, 0x01, 'x', 0x10, 0x01, 'a', 0x01, 'b')).isTrue();
        // A value whose length takes a second byte: 127 + 3.
        final int[] longValue = new int[3 + 130];
        Arrays.fill(longValue, 'v');
        longValue[0] = 0x04;
        longValue[1] = 0x7F;
        longValue[2] = 0x03;
        assertThat(keepsTable(longValue)).isTrue();
        assertThat(keepsTable(Arrays.copyOf(longValue, longValue.length - 1))).isFalse();
        // A name index that takes a second byte: 15 + 16 (content-type, 31).
        assertThat(keepsTable(0x0F, 0x10, 0x01, 'x')).isTrue();
        // Added to the table; a size update.
        assertThat(keepsTable(0x82, 0x41, 0x01, 'x')).isFalse();
        assertThat(keepsTable(0x3F, 0xE1, 0x1F)).isFalse();
        // Cut off: in an integer, in a string, before a value.
        assertThat(keepsTable(0xFF)).isFalse();
        assertThat(keepsTable(0x04, 0x05, 'x')).isFalse();
        assertThat(keepsTable(0x00, 0x01, 'x')).isFalse();
        // An integer of more bytes than any length or index here could need.
        assertThat(keepsTable(0xFF, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).isFalse();
        assertThat(keepsTable()).isTrue();
    }

    /** Pseudo-headers by name, then the others in order, whatever the class holding them. */
    private static List<String> entries(Http2Headers headers) {
        final List<String> pseudo = new ArrayList<>();
        final List<String> others = new ArrayList<>();
        headers.forEach(e -> (e.getKey().charAt(0) == ':' ? pseudo : others).add(e.getKey() + ": " + e.getValue()));
        Collections.sort(pseudo);
        pseudo.addAll(others);
        return pseudo;
    }

    private boolean keepsTable(int... block) {
        final ByteBuf buf = bytes(block);
        return blocks.keepsTable(buf, 0, buf.writerIndex());
    }
}
