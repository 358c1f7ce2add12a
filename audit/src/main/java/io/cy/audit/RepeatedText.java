package io.cy.audit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The encoded bytes of the text fields of recent events, to be used again when a later event has
 * the same text in the same field. The events of a batch mostly repeat their api, method, tenant,
 * subject, model, sidecar and status, and come from a few client connections taking turns;
 * encoding each text anew (a byte array allocated, filled and copied per field) was most of what
 * writing an event cost.
 *
 * <p>Per field, {@link #ENTRIES} texts, the one used last looked at first, a new text replacing the
 * oldest; only text of at most {@link #MAX_KEPT_CHARS} characters is kept. What this holds is
 * bounded whatever the events carry. Looking texts up by hash instead would cost more than it
 * saves: each event brings its texts as new strings, whose hash is not computed yet, and computing
 * it reads every character, as encoding does. Confined to the encoding thread.
 */
final class RepeatedText {

    static final int MAX_KEPT_CHARS = 256;
    /** Per field. */
    static final int ENTRIES = 8;
    private static final byte[] REPLACEMENT = "\uFFFD".getBytes(StandardCharsets.UTF_8);

    private final boolean replaceNul;
    private final String[] text;
    private final byte[][] bytes;
    /** Per field: the entry used last, and the entry the next new text goes into. */
    private final int[] last;
    private final int[] next;

    /**
     * @param fields how many fields the encoder numbers, from 0
     * @param replaceNul whether NUL characters become U+FFFD, for PostgreSQL's text, which cannot hold them
     */
    RepeatedText(int fields, boolean replaceNul) {
        this.replaceNul = replaceNul;
        this.text = new String[fields * ENTRIES];
        this.bytes = new byte[fields * ENTRIES][];
        this.last = new int[fields];
        this.next = new int[fields];
    }

    /** The UTF-8 bytes of {@code s} in {@code field}; the caller must not change them. */
    byte[] bytes(int field, String s) {
        final int base = field * ENTRIES;
        final int used = base + last[field];
        if (s.equals(text[used])) {
            return bytes[used];
        }
        for (int i = base; i < base + ENTRIES; i++) {
            if (i != used && s.equals(text[i])) {
                last[field] = i - base;
                return bytes[i];
            }
        }
        final byte[] b = encode(s);
        if (s.length() <= MAX_KEPT_CHARS) {
            final int entry = next[field];
            text[base + entry] = s;
            bytes[base + entry] = b;
            last[field] = entry;
            next[field] = (entry + 1) % ENTRIES;
        }
        return b;
    }

    /** The UTF-8 bytes of text that is not expected to repeat, not kept. */
    byte[] once(String s) {
        return encode(s);
    }

    private byte[] encode(String s) {
        // indexOf is vectorised; text with NUL in it is rare enough to be built the slow way.
        if (!replaceNul || s.indexOf('\0') < 0) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        final byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        final EventCodec.Sink out = new EventCodec.Sink(utf8.length + 2 * REPLACEMENT.length);
        int from = 0;
        for (int i = 0; i < utf8.length; i++) {
            // A zero byte in UTF-8 is the NUL character and nothing else.
            if (utf8[i] == 0) {
                out.writeBytes(utf8, from, i - from);
                out.writeBytes(REPLACEMENT);
                from = i + 1;
            }
        }
        out.writeBytes(utf8, from, utf8.length - from);
        return Arrays.copyOf(out.array(), out.size());
    }
}
