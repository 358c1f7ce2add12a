package io.cy.coordinator.transport.wire;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersDecoder;
import io.netty.handler.codec.http2.ReadOnlyHttp2Headers;
import io.netty.util.AsciiString;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A connection's HPACK decoding: Netty's decoder, and a short cut for a header block that
 * repeats one of the last two byte for byte. A client sends the same block call after call once
 * its constant headers are in the dynamic table; what is left to decode each time is then a
 * literal it never indexes, most often a bearer token, Huffman-coded (nghttp2, and so curl,
 * h2load and Node's HTTP/2, never index {@code authorization}). Decoding that token was the
 * largest single cost of reading a call's headers. A sidecar's responses alternate two blocks,
 * their headers and their trailers, hence two.
 *
 * <p>A block is answered from one kept only when no block since changed the dynamic table: it
 * holds nothing but indexed fields and literals without indexing or never indexed, no literal
 * that is added to the table and no table size update. Decoding such a block reads the table
 * and leaves it as it is, so the same bytes decode to the same headers, which the first
 * decoding checked. A block that changes the table, fails to decode, or a change to the
 * decoder's limits forgets the blocks kept. A block is kept from its first decoding, its
 * headers from its second, so that a client whose blocks never repeat (a deadline in every
 * call) pays only for a copy of the bytes. The calls of a repeated block share one read-only
 * set of its headers, made once: nothing downstream writes into the headers it receives but
 * Netty's decoder, which rewrites {@code content-length}; a block with one (h2load sends it), or
 * with pseudo-headers other than a request's four or a response's status, gets a copy per call
 * instead.
 *
 * <p>Confined to the connection's event loop, as the frame reader that calls it.
 */
public final class RepeatedHeaderBlocks implements Http2HeadersDecoder, Http2HeadersDecoder.Configuration {

    /** Larger blocks are decoded each time: they are rare, and keeping them costs more. */
    static final int MAX_KEPT_BYTES = 1024;
    /** Continuation bytes of an HPACK integer read at most (35 bits): no index or length in a kept block needs more. */
    private static final int MAX_INTEGER_BYTES = 5;
    /** In the order {@link ReadOnlyHttp2Headers#clientHeaders} takes them. */
    private static final List<AsciiString> REQUEST_PSEUDO_HEADERS = List.of(
            Http2Headers.PseudoHeaderName.METHOD.value(), Http2Headers.PseudoHeaderName.PATH.value(),
            Http2Headers.PseudoHeaderName.SCHEME.value(), Http2Headers.PseudoHeaderName.AUTHORITY.value());
    private static final AsciiString STATUS = Http2Headers.PseudoHeaderName.STATUS.value();

    private final DefaultHttp2HeadersDecoder decoder;
    /** The blocks kept, two: a sidecar connection's responses alternate headers and trailers. */
    private final Kept[] kept = {new Kept(), new Kept()};
    /** The slot a block not kept yet replaces: the one that did not serve last. */
    private int older;
    /** Where {@link #integer} left off. */
    private int cursor;

    public RepeatedHeaderBlocks(DefaultHttp2HeadersDecoder decoder) {
        this.decoder = requireNonNull(decoder, "decoder");
    }

    @Override
    public Http2Headers decodeHeaders(int streamId, ByteBuf block) throws Http2Exception {
        final int start = block.readerIndex();
        final int length = block.readableBytes();
        final Kept repeated = kept[0].holds(block, start, length) ? kept[0]
                : kept[1].holds(block, start, length) ? kept[1] : null;
        if (repeated != null && repeated.headers != null) {
            block.skipBytes(length);
            served(repeated);
            return repeated.headers instanceof ReadOnlyHttp2Headers ? repeated.headers : copy(repeated.headers);
        }
        final boolean keep = length <= MAX_KEPT_BYTES && keepsTable(block, start, start + length);
        final Http2Headers headers;
        try {
            headers = decoder.decodeHeaders(streamId, block);
        } catch (Http2Exception | RuntimeException e) {
            forget();
            throw e;
        }
        if (!keep) {
            // Every block kept may now mean something else.
            forget();
        } else if (repeated != null) {
            final Http2Headers readOnly = readOnly(headers);
            repeated.headers = readOnly != null ? readOnly : copy(headers);
            served(repeated);
        } else {
            kept[older].keep(block, start, length);
            older ^= 1;
        }
        return headers;
    }

    @Override
    public Configuration configuration() {
        return this;
    }

    @Override
    public void maxHeaderTableSize(long max) throws Http2Exception {
        // A smaller table must be acknowledged by the peer in its next block, which the decoder checks.
        forget();
        decoder.maxHeaderTableSize(max);
    }

    @Override
    public long maxHeaderTableSize() {
        return decoder.maxHeaderTableSize();
    }

    @Override
    public void maxHeaderListSize(long max, long goAwayMax) throws Http2Exception {
        forget();
        decoder.maxHeaderListSize(max, goAwayMax);
    }

    @Override
    public long maxHeaderListSize() {
        return decoder.maxHeaderListSize();
    }

    @Override
    public long maxHeaderListSizeGoAway() {
        return decoder.maxHeaderListSizeGoAway();
    }

    /** The other slot is now the one a new block replaces. */
    private void served(Kept slot) {
        older = slot == kept[0] ? 1 : 0;
    }

    private void forget() {
        kept[0].forget();
        kept[1].forget();
    }

    /** One block kept, and what it decoded to once it came again. */
    private static final class Kept {
        /** Room for the block, made when first needed and as large as the largest block kept in it so far. */
        private ByteBuf bytes = Unpooled.EMPTY_BUFFER;
        /** Bytes of the block; -1 for none. */
        private int length = -1;
        /**
         * What the block decoded to, once it came a second time; null before. Handed out as it is
         * when read-only, else copied for each call.
         */
        private Http2Headers headers;

        boolean holds(ByteBuf block, int start, int blockLength) {
            return blockLength == length && ByteBufUtil.equals(block, start, bytes, 0, blockLength);
        }

        void keep(ByteBuf block, int start, int blockLength) {
            if (bytes.capacity() < blockLength) {
                bytes = Unpooled.wrappedBuffer(new byte[blockLength]);
            }
            bytes.setBytes(0, block, start, blockLength);
            length = blockLength;
            headers = null;
        }

        void forget() {
            length = -1;
            headers = null;
        }
    }

    /**
     * The headers as one read-only set that every call of the block can be given (a request's,
     * a response's, trailers), or null when they cannot be: a {@code content-length}, a
     * pseudo-header other than a request's four or a response's status, or one of those missing
     * or repeated.
     */
    static Http2Headers readOnly(Http2Headers headers) {
        final AsciiString[] request = new AsciiString[4];
        AsciiString status = null;
        final AsciiString[] others = new AsciiString[2 * headers.size()];
        int n = 0;
        for (Map.Entry<CharSequence, CharSequence> entry : headers) {
            final AsciiString name = AsciiString.of(entry.getKey());
            final AsciiString value = AsciiString.of(entry.getValue());
            if (name.length() > 0 && name.byteAt(0) == ':') {
                final int at = REQUEST_PSEUDO_HEADERS.indexOf(name);
                if (at >= 0 && request[at] == null) {
                    request[at] = value;
                } else if (STATUS.contentEquals(name) && status == null) {
                    status = value;
                } else {
                    return null;
                }
            } else if (HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)) {
                return null;
            } else {
                others[n++] = name;
                others[n++] = value;
            }
        }
        final AsciiString[] rest = n == others.length ? others : Arrays.copyOf(others, n);
        final boolean isRequest = request[0] != null && request[1] != null && request[2] != null && request[3] != null;
        if (isRequest && status == null) {
            return ReadOnlyHttp2Headers.clientHeaders(false, request[0], request[1], request[2], request[3], rest);
        }
        final boolean noRequest = request[0] == null && request[1] == null && request[2] == null && request[3] == null;
        if (status != null && noRequest) {
            return ReadOnlyHttp2Headers.serverHeaders(false, status, rest);
        }
        return status == null && noRequest ? ReadOnlyHttp2Headers.trailers(false, rest) : null;
    }

    private static Http2Headers copy(Http2Headers headers) {
        // Checked when the block was first decoded; the values are the same.
        final DefaultHttp2Headers copy = new DefaultHttp2Headers(false, false, headers.size());
        copy.add(headers);
        return copy;
    }

    /**
     * Whether decoding the block between {@code from} and {@code to} leaves the dynamic table as
     * it is (RFC 7541, section 6): false as well for anything it cannot read, which the decoder
     * then reports.
     */
    boolean keepsTable(ByteBuf block, int from, int to) {
        cursor = from;
        while (cursor < to) {
            final int first = block.getUnsignedByte(cursor);
            if ((first & 0x80) != 0) {
                // Indexed field.
                if (integer(block, to, 7) < 0) {
                    return false;
                }
            } else if ((first & 0x40) != 0 || (first & 0x20) != 0) {
                // A literal added to the table, or a table size update.
                return false;
            } else {
                // A literal without indexing or never indexed: its name's index, 0 for a literal name.
                final long nameIndex = integer(block, to, 4);
                if (nameIndex < 0 || nameIndex == 0 && !string(block, to)) {
                    return false;
                }
                if (!string(block, to)) {
                    return false;
                }
            }
        }
        return cursor == to;
    }

    /** Skips a string literal: its length (the Huffman flag aside), then its bytes. */
    private boolean string(ByteBuf block, int to) {
        if (cursor >= to) {
            return false;
        }
        final long length = integer(block, to, 7);
        if (length < 0 || length > to - cursor) {
            return false;
        }
        cursor += (int) length;
        return true;
    }

    /** Reads an integer with an N-bit prefix at the cursor, and moves past it; -1 if it is cut off or too long. */
    private long integer(ByteBuf block, int to, int prefixBits) {
        final int mask = (1 << prefixBits) - 1;
        long value = block.getUnsignedByte(cursor++) & mask;
        if (value < mask) {
            return value;
        }
        for (int shift = 0, n = 0; n < MAX_INTEGER_BYTES; shift += 7, n++) {
            if (cursor >= to) {
                return -1;
            }
            final int b = block.getUnsignedByte(cursor++);
            value += (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        return -1;
    }
}
