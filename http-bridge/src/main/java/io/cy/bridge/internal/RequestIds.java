package io.cy.bridge.internal;

import io.cy.coordinator.ids.TraceIdGenerator;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids: the caller's {@code x-request-id} when usable, else a new one. The id is the call's
 * trace id upstream ({@code metadata.trace_id}, header {@code trace-id}) and comes back on every
 * response, so one id follows a request through the bridge, the coordinator and the sidecar.
 */
final class RequestIds {

    /** The coordinator's limit for trace ids. */
    static final int MAX_CHARS = 128;

    private static final char[] ALPHANUMERIC =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    private RequestIds() {}

    /** {@code header} if it is 1 to 128 visible ASCII characters, else a new UUID. */
    static String resolve(String header) {
        if (header != null && !header.isEmpty() && header.length() <= MAX_CHARS && isVisibleAscii(header)) {
            return header;
        }
        return newUuid();
    }

    /** A new id: a version 7 UUID, see {@link TraceIdGenerator}. */
    static String newUuid() {
        return TraceIdGenerator.next();
    }

    /** A response id in OpenAI's shape: {@code prefix} and 24 random letters and digits. */
    static String completionId(String prefix) {
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        final StringBuilder sb = new StringBuilder(prefix.length() + 24).append(prefix);
        for (int i = 0; i < 24; i++) {
            sb.append(ALPHANUMERIC[random.nextInt(ALPHANUMERIC.length)]);
        }
        return sb.toString();
    }

    private static boolean isVisibleAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
