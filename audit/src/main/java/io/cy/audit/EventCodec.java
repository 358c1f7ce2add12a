package io.cy.audit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The spool's compact binary form of one event: a version byte, then every field in a fixed order;
 * text as a length (varint) and UTF-8 bytes, numbers as fixed-width big-endian. Instants as
 * microseconds since the epoch, which is what PostgreSQL keeps. Version 2 adds the alias and the
 * backend at the end, version 3 the degrade marker after them; version 1 and 2 records, spooled by an
 * older coordinator, are still read.
 */
final class EventCodec {

    static final byte VERSION = 3;
    private static final byte VERSION_WITHOUT_DEGRADED = 2;
    private static final byte VERSION_WITHOUT_ROUTING = 1;

    private EventCodec() {}

    /**
     * How many text fields {@link #encode} numbers for {@link RepeatedText}, those that repeat from
     * one event to the next; the trace id, the prompt and its hash differ in every event and are
     * encoded each time. A field added takes the next number and raises this count; a count left
     * too small fails the codec's round trip of an event with that field set.
     */
    static final int REPEATED_FIELDS = 18;

    /**
     * Appends the encoding of {@code e} to {@code out}, taking text repeated from recent events
     * from {@code repeated}, which this thread uses for every event it encodes.
     */
    static void encode(AuditEvent e, Sink out, RepeatedText repeated) {
        out.writeByte(VERSION);
        out.writeByte(kindCode(e.kind()));
        out.writeLong(e.eventId().getMostSignificantBits());
        out.writeLong(e.eventId().getLeastSignificantBits());
        out.writeLong(micros(e.startTime()));
        out.writeLong(micros(e.endTime()));
        out.writeString(e.traceId());
        out.writeText(repeated, 0, e.api());
        out.writeText(repeated, 1, e.method());
        out.writeText(repeated, 2, e.tenant());
        out.writeText(repeated, 3, e.subject());
        out.writeText(repeated, 4, e.credentialKind());
        out.writeText(repeated, 5, e.keyId());
        out.writeText(repeated, 6, e.clientAddress());
        out.writeText(repeated, 7, e.model());
        out.writeText(repeated, 8, e.adapter());
        out.writeInt(e.priority());
        out.writeText(repeated, 9, e.sidecar());
        out.writeText(repeated, 10, e.statusCode());
        out.writeText(repeated, 11, e.statusDescription());
        out.writeLong(e.chunks());
        out.writeLong(e.promptTokens());
        out.writeLong(e.timeToFirstChunkNanos());
        out.writeLong(e.durationNanos());
        out.writeLong(e.bytesOut());
        out.writeText(repeated, 12, e.quotaDecision());
        out.writeByte(e.cancelledByClient() ? (byte) 1 : (byte) 0);
        out.writeText(repeated, 13, e.reason());
        out.writeText(repeated, 14, e.command());
        out.writeVarint(e.payload().size());
        for (Map.Entry<String, String> entry : e.payload().entrySet()) {
            out.writeString(entry.getKey());
            out.writeString(entry.getValue());
        }
        out.writeString(e.promptSha256());
        out.writeString(e.prompt());
        out.writeText(repeated, 15, e.alias());
        out.writeText(repeated, 16, e.backend());
        out.writeText(repeated, 17, e.degraded());
    }

    /**
     * Reads one event from exactly the bytes of {@code in}.
     *
     * @throws IllegalArgumentException when the bytes are not an event of a known version
     */
    static AuditEvent decode(ByteBuffer in) {
        try {
            final byte version = in.get();
            if (version != VERSION && version != VERSION_WITHOUT_DEGRADED && version != VERSION_WITHOUT_ROUTING) {
                throw new IllegalArgumentException("unknown spool record version " + version);
            }
            final AuditEvent.Kind kind = kindOf(in.get());
            final UUID id = new UUID(in.getLong(), in.getLong());
            final Instant start = instant(in.getLong());
            final Instant end = instant(in.getLong());
            final String traceId = readString(in);
            final String api = readString(in);
            final String method = readString(in);
            final String tenant = readString(in);
            final String subject = readString(in);
            final String credentialKind = readString(in);
            final String keyId = readString(in);
            final String clientAddress = readString(in);
            final String model = readString(in);
            final String adapter = readString(in);
            final int priority = in.getInt();
            final String sidecar = readString(in);
            final String statusCode = readString(in);
            final String statusDescription = readString(in);
            final long chunks = in.getLong();
            final long promptTokens = in.getLong();
            final long ttfc = in.getLong();
            final long duration = in.getLong();
            final long bytesOut = in.getLong();
            final String quotaDecision = readString(in);
            final boolean cancelled = in.get() != 0;
            final String reason = readString(in);
            final String command = readString(in);
            final int payloadSize = readVarint(in);
            final Map<String, String> payload = new LinkedHashMap<>();
            for (int i = 0; i < payloadSize; i++) {
                payload.put(readString(in), readString(in));
            }
            final String promptSha256 = readString(in);
            final String prompt = readString(in);
            final String alias = version >= VERSION_WITHOUT_DEGRADED ? readString(in) : "";
            final String backend = version >= VERSION_WITHOUT_DEGRADED ? readString(in) : "";
            final String degraded = version == VERSION ? readString(in) : "";
            if (in.hasRemaining()) {
                throw new IllegalArgumentException(in.remaining() + " bytes after the event");
            }
            return new AuditEvent(kind, id, traceId, start, end, api, method, tenant, subject, credentialKind, keyId,
                    clientAddress, model, adapter, priority, sidecar, statusCode, statusDescription, chunks,
                    promptTokens, ttfc, duration, bytesOut, quotaDecision, cancelled, reason, command, payload,
                    promptSha256, prompt, alias, backend, degraded);
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("spool record ends early", e);
        }
    }

    static long micros(Instant t) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, t);
    }

    static Instant instant(long micros) {
        return Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
    }

    private static byte kindCode(AuditEvent.Kind kind) {
        return switch (kind) {
            case CALL -> 1;
            case REJECTED -> 2;
            case CONTROL -> 3;
        };
    }

    private static AuditEvent.Kind kindOf(byte code) {
        return switch (code) {
            case 1 -> AuditEvent.Kind.CALL;
            case 2 -> AuditEvent.Kind.REJECTED;
            case 3 -> AuditEvent.Kind.CONTROL;
            default -> throw new IllegalArgumentException("unknown event kind " + code);
        };
    }

    private static String readString(ByteBuffer in) {
        final int length = readVarint(in);
        if (length == 0) {
            return "";
        }
        if (length > in.remaining()) {
            throw new IllegalArgumentException("text of " + length + " bytes, " + in.remaining() + " left");
        }
        final String s = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return s;
    }

    private static int readVarint(ByteBuffer in) {
        int value = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            final byte b = in.get();
            value |= (b & 0x7F) << shift;
            if (b >= 0) {
                if (value < 0) {
                    throw new IllegalArgumentException("negative length");
                }
                return value;
            }
        }
        throw new IllegalArgumentException("varint too long");
    }

    /** A growable byte array that events are encoded into. */
    static final class Sink {
        private byte[] bytes;
        private int size;

        Sink(int initialCapacity) {
            this.bytes = new byte[initialCapacity];
        }

        int size() {
            return size;
        }

        byte[] array() {
            return bytes;
        }

        void reset() {
            size = 0;
        }

        void writeByte(byte b) {
            ensure(1);
            bytes[size++] = b;
        }

        void writeInt(int v) {
            ensure(4);
            putInt(size, v);
            size += 4;
        }

        /** Overwrites four bytes at {@code at}, for a length or checksum known only after what follows. */
        void putInt(int at, int v) {
            bytes[at] = (byte) (v >>> 24);
            bytes[at + 1] = (byte) (v >>> 16);
            bytes[at + 2] = (byte) (v >>> 8);
            bytes[at + 3] = (byte) v;
        }

        void writeShort(int v) {
            ensure(2);
            bytes[size++] = (byte) (v >>> 8);
            bytes[size++] = (byte) v;
        }

        void writeBytes(byte[] b) {
            writeBytes(b, 0, b.length);
        }

        void writeBytes(byte[] b, int offset, int length) {
            ensure(length);
            System.arraycopy(b, offset, bytes, size, length);
            size += length;
        }

        void writeLong(long v) {
            ensure(8);
            for (int shift = 56; shift >= 0; shift -= 8) {
                bytes[size++] = (byte) (v >>> shift);
            }
        }

        void writeVarint(int v) {
            ensure(5);
            while ((v & ~0x7F) != 0) {
                bytes[size++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            bytes[size++] = (byte) v;
        }

        void writeString(String s) {
            if (s.isEmpty()) {
                writeVarint(0);
                return;
            }
            writeUtf8(s.getBytes(StandardCharsets.UTF_8));
        }

        /** As {@link #writeString}, with the bytes of text repeated from recent events taken from {@code repeated}. */
        void writeText(RepeatedText repeated, int field, String s) {
            if (s.isEmpty()) {
                writeVarint(0);
                return;
            }
            writeUtf8(repeated.bytes(field, s));
        }

        private void writeUtf8(byte[] utf8) {
            writeVarint(utf8.length);
            writeBytes(utf8, 0, utf8.length);
        }

        /** Room for four bytes to be filled in later with {@link #putInt}; returns where they are. */
        int skipInt() {
            ensure(4);
            size += 4;
            return size - 4;
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
