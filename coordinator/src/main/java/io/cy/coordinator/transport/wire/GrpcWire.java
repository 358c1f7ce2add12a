package io.cy.coordinator.transport.wire;

import io.grpc.Drainable;
import io.grpc.InternalMetadata;
import io.grpc.KnownLength;
import io.grpc.Metadata;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.io.InputStream;
import io.netty.util.AsciiString;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

/**
 * What the gRPC-over-HTTP/2 protocol says, for the client's streams and the sidecar's alike: the
 * 5-byte prefix of a message, and in headers and trailers timeouts, statuses, status messages and
 * metadata, as grpc-java's own transport encodes them.
 */
public final class GrpcWire {

    public static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    public static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
    public static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
    public static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
    public static final AsciiString GRPC_ENCODING = AsciiString.cached("grpc-encoding");
    public static final AsciiString GRPC_ACCEPT_ENCODING = AsciiString.cached("grpc-accept-encoding");

    /**
     * What grpc-java's server answers when a handler or listener throws, on a socket or inside the
     * process: no detail of the failure leaves the service.
     */
    public static final Status APPLICATION_ERROR = Status.UNKNOWN.withDescription("Application error processing RPC");

    /** Headers of the transport, never relayed as a call's metadata. */
    private static final Set<AsciiString> TRANSPORT_HEADERS = Set.of(GRPC_STATUS, GRPC_MESSAGE, GRPC_TIMEOUT,
            CONTENT_TYPE, GRPC_ENCODING, GRPC_ACCEPT_ENCODING,
            AsciiString.cached("te"), AsciiString.cached("user-agent"), AsciiString.cached("content-length"));

    private static final AsciiString BINARY_SUFFIX = AsciiString.cached(Metadata.BINARY_HEADER_SUFFIX);

    /** The largest value of a grpc-timeout, in any unit: eight digits. */
    private static final long TIMEOUT_MAX_VALUE = 99_999_999L;

    private GrpcWire() {}

    /** Appends a message with its 5-byte gRPC prefix (uncompressed, then the length) to {@code out}. */
    public static void appendFrame(ByteBuf out, byte[] message) {
        out.ensureWritable(5 + message.length);
        out.writeByte(0).writeInt(message.length).writeBytes(message);
    }

    /**
     * The same for a message a marshaller streams; the stream is read to its end and closed. On
     * failure {@code out} is left as it was.
     */
    public static void appendFrame(ByteBuf out, InputStream message) throws IOException {
        final int start = out.writerIndex();
        boolean done = false;
        try (InputStream in = message; ByteBufOutputStream stream = new ByteBufOutputStream(out)) {
            out.writeByte(0).writeInt(0);
            if (in instanceof Drainable) {
                ((Drainable) in).drainTo(stream);
            } else {
                in.transferTo(stream);
            }
            out.setInt(start + 1, out.writerIndex() - start - 5);
            done = true;
        } finally {
            if (!done) {
                out.writerIndex(start);
            }
        }
    }

    /**
     * Appends a message gzip-compressed, with the prefix's compressed flag set, as grpc-java's
     * framer writes every message of a call whose compressor is gzip. On failure {@code out} is
     * left as it was.
     */
    public static void appendGzipFrame(ByteBuf out, InputStream message) throws IOException {
        final int start = out.writerIndex();
        boolean done = false;
        try (InputStream in = message) {
            out.writeByte(1).writeInt(0);
            try (GZIPOutputStream gzip = new GZIPOutputStream(new ByteBufOutputStream(out))) {
                in.transferTo(gzip);
            }
            out.setInt(start + 1, out.writerIndex() - start - 5);
            done = true;
        } finally {
            if (!done) {
                out.writerIndex(start);
            }
        }
    }

    /**
     * Whether a {@code grpc-accept-encoding} value (a comma list, or null) lists {@code gzip}.
     * Read for every call (grpc-java's clients send the header on each), so it allocates nothing.
     */
    public static boolean acceptsGzip(CharSequence acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        final int length = acceptEncoding.length();
        int start = 0;
        while (start < length) {
            int end = start;
            while (end < length && acceptEncoding.charAt(end) != ',') {
                end++;
            }
            int from = start;
            int to = end;
            while (from < to && acceptEncoding.charAt(from) == ' ') {
                from++;
            }
            while (to > from && acceptEncoding.charAt(to - 1) == ' ') {
                to--;
            }
            if (to - from == 4 && acceptEncoding.charAt(from) == 'g' && acceptEncoding.charAt(from + 1) == 'z'
                    && acceptEncoding.charAt(from + 2) == 'i' && acceptEncoding.charAt(from + 3) == 'p') {
                return true;
            }
            start = end + 1;
        }
        return false;
    }

    /**
     * A streamed message in a buffer of its own, ready for a DATA frame; sized from the stream's
     * known length (a protobuf marshaller's streams know it), so that it never grows.
     */
    public static ByteBuf frame(ByteBufAllocator alloc, InputStream message) throws IOException {
        final ByteBuf buf = alloc.buffer(message instanceof KnownLength known ? 5 + known.available() : 256);
        boolean done = false;
        try {
            appendFrame(buf, message);
            done = true;
            return buf;
        } finally {
            if (!done) {
                buf.release();
            }
        }
    }

    /**
     * The {@code grpc-timeout} value for {@code nanos} (at least 1 ns): at most eight digits in the
     * finest unit that holds them, rounded up so that the sidecar never gets more time than is left.
     */
    public static String timeout(long nanos) {
        final long n = Math.max(1, nanos);
        final long[] unitNanos = {1L, 1_000L, 1_000_000L, 1_000_000_000L, 60_000_000_000L, 3_600_000_000_000L};
        final char[] units = {'n', 'u', 'm', 'S', 'M', 'H'};
        for (int i = 0; i < units.length; i++) {
            final long value = ceilDiv(n, unitNanos[i]);
            if (value <= TIMEOUT_MAX_VALUE) {
                return value + String.valueOf(units[i]);
            }
        }
        return TIMEOUT_MAX_VALUE + "H";
    }

    /**
     * The nanoseconds a {@code grpc-timeout} value allows (1 to 8 digits and a unit of
     * {@code H M S m u n}), or -1 when it is not one.
     */
    public static long parseTimeoutNanos(CharSequence value) {
        final int n = value.length();
        if (n < 2 || n > 9) {
            return -1;
        }
        long amount = 0;
        for (int i = 0; i < n - 1; i++) {
            final char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            amount = amount * 10 + (c - '0');
        }
        final long unitNanos;
        switch (value.charAt(n - 1)) {
            case 'n':
                unitNanos = 1L;
                break;
            case 'u':
                unitNanos = 1_000L;
                break;
            case 'm':
                unitNanos = 1_000_000L;
                break;
            case 'S':
                unitNanos = 1_000_000_000L;
                break;
            case 'M':
                unitNanos = 60_000_000_000L;
                break;
            case 'H':
                unitNanos = 3_600_000_000_000L;
                break;
            default:
                return -1;
        }
        // 99,999,999 hours overflows a long of nanoseconds; such a deadline is as good as none.
        return amount > Long.MAX_VALUE / unitNanos ? Long.MAX_VALUE : amount * unitNanos;
    }

    /** Encodes a {@code grpc-message}: UTF-8, with bytes outside printable ASCII and '%' percent-encoded. */
    public static String encodeMessage(String message) {
        boolean plain = true;
        for (int i = 0; i < message.length() && plain; i++) {
            final char c = message.charAt(i);
            plain = c >= ' ' && c <= '~' && c != '%';
        }
        if (plain) {
            return message;
        }
        final StringBuilder out = new StringBuilder(message.length() + 16);
        for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
            if (b >= ' ' && b <= '~' && b != '%') {
                out.append((char) b);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static long ceilDiv(long a, long b) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /**
     * The status in a response's trailers (or a trailers-only response): {@code grpc-status} and
     * the percent-decoded {@code grpc-message}; without {@code grpc-status}, what the HTTP status
     * says, as grpc-java's client does.
     */
    public static Status statusFromTrailers(Http2Headers trailers) {
        final CharSequence code = trailers.get(GRPC_STATUS);
        if (code == null) {
            final Status http = statusFromHttp(trailers.status());
            return http.isOk()
                    ? Status.UNKNOWN.withDescription("missing grpc-status in the response's trailers")
                    : http;
        }
        Status status;
        try {
            status = Status.fromCodeValue(Integer.parseInt(code.toString()));
        } catch (NumberFormatException e) {
            return Status.UNKNOWN.withDescription("grpc-status: '" + code + "' (expected: a status code)");
        }
        final CharSequence message = trailers.get(GRPC_MESSAGE);
        if (message != null) {
            status = status.withDescription(decodeMessage(message));
        }
        return status;
    }

    /**
     * What an HTTP status on a response means for the call: OK for 200 (or none), else the code
     * grpc's HTTP mapping gives (gRPC's {@code http-grpc-status-mapping.md}).
     */
    public static Status statusFromHttp(CharSequence httpStatus) {
        if (httpStatus == null || AsciiString.contentEquals(httpStatus, "200")) {
            return Status.OK;
        }
        final int code;
        try {
            code = Integer.parseInt(httpStatus.toString());
        } catch (NumberFormatException e) {
            return Status.INTERNAL.withDescription(":status: '" + httpStatus + "' (expected: an HTTP status)");
        }
        final Status status;
        switch (code) {
            case 400:
                status = Status.INTERNAL;
                break;
            case 401:
                status = Status.UNAUTHENTICATED;
                break;
            case 403:
                status = Status.PERMISSION_DENIED;
                break;
            case 404:
                status = Status.UNIMPLEMENTED;
                break;
            case 429:
            case 502:
            case 503:
            case 504:
                status = Status.UNAVAILABLE;
                break;
            default:
                status = Status.UNKNOWN;
        }
        return status.withDescription("HTTP status code " + code);
    }

    /** Whether a response's {@code content-type} is gRPC's. */
    public static boolean isGrpcContentType(CharSequence contentType) {
        if (contentType == null) {
            return false;
        }
        final String type = contentType.toString().toLowerCase(java.util.Locale.ROOT);
        return type.equals("application/grpc") || type.startsWith("application/grpc+")
                || type.startsWith("application/grpc;");
    }

    /**
     * Decodes a {@code grpc-message}: UTF-8, with the bytes outside printable ASCII (and '%')
     * percent-encoded. A malformed escape is kept as it is, as gRPC asks.
     */
    public static String decodeMessage(CharSequence value) {
        final String s = value.toString();
        if (s.indexOf('%') < 0) {
            return s;
        }
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                final int hi = Character.digit(s.charAt(i + 1), 16);
                final int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    bytes.write((hi << 4) | lo);
                    i += 2;
                    continue;
                }
            }
            if (c < 0x80) {
                bytes.write(c);
            } else {
                // Not percent-encoded as it should be: kept as the character it is.
                final int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
                bytes.writeBytes(s.substring(i, end).getBytes(StandardCharsets.UTF_8));
                i = end - 1;
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * A response's headers or trailers as a call's metadata: every header but the pseudo-headers
     * and the transport's own; {@code -bin} values base64-decoded. An entry that is not valid
     * metadata (a bad name, bad base64) is left out rather than failing the call.
     */
    public static Metadata metadata(Http2Headers headers) {
        final Metadata metadata = metadataAsReceived(headers);
        return metadata != null ? metadata : metadataEntryByEntry(headers);
    }

    /**
     * The metadata made from the received bytes themselves, as grpc-java's transport makes it: no
     * key made and validated, no value decoded to a String and encoded again. Null when an entry
     * needs {@link #metadataEntryByEntry}'s care: a name that is not a metadata key as it stands
     * (upper case, other characters), a value with bytes outside ASCII, a {@code -bin} value.
     */
    private static Metadata metadataAsReceived(Http2Headers headers) {
        final byte[][] entries = new byte[headers.size() * 2][];
        int n = 0;
        for (Map.Entry<CharSequence, CharSequence> entry : headers) {
            final AsciiString name = AsciiString.of(entry.getKey());
            if (name.length() == 0 || name.byteAt(0) == ':' || TRANSPORT_HEADERS.contains(name)) {
                continue;
            }
            final AsciiString value = AsciiString.of(entry.getValue());
            if (!isPlainKey(name) || name.endsWith(BINARY_SUFFIX) || !isAscii(value)) {
                return null;
            }
            entries[n++] = bytesOf(name);
            entries[n++] = bytesOf(value);
        }
        return InternalMetadata.newMetadata(n / 2, entries);
    }

    /** Whether {@code name} is a metadata key as it is: lower case letters, digits, '-', '_', '.'. */
    private static boolean isPlainKey(AsciiString name) {
        final byte[] a = name.array();
        for (int i = name.arrayOffset(), end = i + name.length(); i < end; i++) {
            final byte b = a[i];
            if (!(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.')) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAscii(AsciiString value) {
        final byte[] a = value.array();
        for (int i = value.arrayOffset(), end = i + value.length(); i < end; i++) {
            if (a[i] < 0) {
                return false;
            }
        }
        return true;
    }

    /** The bytes, shared when the string is its whole array: metadata never writes into them. */
    private static byte[] bytesOf(AsciiString s) {
        return s.isEntireArrayUsed() ? s.array() : s.toByteArray();
    }

    private static Metadata metadataEntryByEntry(Http2Headers headers) {
        final Metadata metadata = new Metadata();
        for (Map.Entry<CharSequence, CharSequence> entry : headers) {
            final AsciiString name = AsciiString.of(entry.getKey());
            if (name.length() == 0 || name.byteAt(0) == ':' || TRANSPORT_HEADERS.contains(name)) {
                continue;
            }
            final String key = name.toString();
            try {
                if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                    // Repeated values may arrive joined with commas, which base64 never contains.
                    final Metadata.Key<byte[]> binaryKey = Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER);
                    for (String part : entry.getValue().toString().split(",", -1)) {
                        metadata.put(binaryKey, Base64.getDecoder().decode(part.trim()));
                    }
                } else {
                    metadata.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), entry.getValue().toString());
                }
            } catch (IllegalArgumentException e) {
                // Not valid metadata: dropped, as grpc-java drops what it cannot represent.
            }
        }
        return metadata;
    }

    /**
     * Adds a call's metadata to headers; {@code -bin} values base64-encoded. The transport's own
     * headers are left out: the transport sets them.
     */
    public static void addMetadata(Http2Headers headers, Metadata metadata) {
        if (InternalMetadata.headerCount(metadata) == 0) {
            return;
        }
        // The entries as the metadata holds them, names and values in turn: no key looked up or
        // made again, and the bytes wrapped, not copied.
        final byte[][] entries = InternalMetadata.serialize(metadata);
        for (int i = 0; i + 1 < entries.length; i += 2) {
            final AsciiString name = new AsciiString(entries[i], false);
            if (TRANSPORT_HEADERS.contains(name)) {
                continue;
            }
            final byte[] value = entries[i + 1];
            if (name.endsWith(BINARY_SUFFIX)) {
                headers.add(name, new AsciiString(Base64.getEncoder().withoutPadding().encode(value), false));
            } else {
                headers.add(name, new AsciiString(value, false));
            }
        }
    }
}
