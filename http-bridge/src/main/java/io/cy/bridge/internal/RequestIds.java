package io.cy.bridge.internal;

import java.util.UUID;
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

    /** {@code header} if it is 1 to 128 visible ASCII characters, else a new random UUID. */
    static String resolve(String header) {
        if (header != null && !header.isEmpty() && header.length() <= MAX_CHARS && isVisibleAscii(header)) {
            return header;
        }
        return newUuid();
    }

    /** A random (version 4) UUID; ThreadLocalRandom avoids SecureRandom's cost on the event loop. */
    static String newUuid() {
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        final long msb = (random.nextLong() & ~0xF000L) | 0x4000L;
        final long lsb = (random.nextLong() & ~0xC000000000000000L) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
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
