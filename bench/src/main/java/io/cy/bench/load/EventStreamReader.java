package io.cy.bench.load;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Splits a {@code text/event-stream} body into events, however its bytes arrive: lines end with
 * {@code \n} (a {@code \r} before it is dropped), an empty line ends an event, {@code data:}
 * lines are joined with {@code \n}, {@code event:} names the event, comments and other fields
 * are skipped. Bounded: a line or an event's data longer than the limit stops the reading.
 *
 * <p>Not thread-safe: one response's parts arrive one at a time.
 */
final class EventStreamReader {

    /** Receives each complete event. */
    interface Sink {
        /** @param type the {@code event:} field, or {@code message} when there was none */
        void onEvent(String type, String data);
    }

    static final String MESSAGE = "message";

    private final int maxBytes;
    private byte[] line = new byte[256];
    private int lineLength;
    private String type;
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private boolean tooLong;

    /** @param maxBytes the longest line, and the most data one event may carry */
    EventStreamReader(int maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 1)");
        }
        this.maxBytes = maxBytes;
    }

    /**
     * Reads the next bytes of the body, handing each event they complete to {@code sink}.
     *
     * @return false once a line or an event was too long: nothing more is read
     */
    boolean read(ByteBuf bytes, Sink sink) {
        if (tooLong) {
            return false;
        }
        final int end = bytes.writerIndex();
        for (int i = bytes.readerIndex(); i < end; i++) {
            final byte b = bytes.getByte(i);
            if (b == '\n') {
                if (!line(sink)) {
                    tooLong = true;
                    return false;
                }
                lineLength = 0;
                continue;
            }
            if (lineLength == maxBytes) {
                tooLong = true;
                return false;
            }
            if (lineLength == line.length) {
                line = Arrays.copyOf(line, Math.min(maxBytes, line.length * 2));
            }
            line[lineLength++] = b;
        }
        return true;
    }

    /** Whether the bytes so far end inside a line or an event: a body that stops here was cut short. */
    boolean midEvent() {
        return lineLength > 0 || hasData || type != null;
    }

    private boolean line(Sink sink) {
        int length = lineLength;
        if (length > 0 && line[length - 1] == '\r') {
            length--;
        }
        if (length == 0) {
            if (hasData) {
                final String event = type == null ? MESSAGE : type;
                final String text = data.toString();
                type = null;
                data.setLength(0);
                hasData = false;
                sink.onEvent(event, text);
            } else {
                type = null;
            }
            return true;
        }
        if (line[0] == ':') {
            return true; // a comment
        }
        int colon = 0;
        while (colon < length && line[colon] != ':') {
            colon++;
        }
        final String field = new String(line, 0, colon, UTF_8);
        int valueStart = Math.min(length, colon + 1);
        if (valueStart < length && line[valueStart] == ' ') {
            valueStart++;
        }
        final String value = new String(line, valueStart, length - valueStart, UTF_8);
        if (field.equals("data")) {
            if (hasData) {
                data.append('\n');
            }
            data.append(value);
            hasData = true;
            return data.length() <= maxBytes;
        }
        if (field.equals("event")) {
            type = value;
        }
        return true;
    }
}
