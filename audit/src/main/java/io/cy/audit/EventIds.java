package io.cy.audit;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Event ids: version 7 UUIDs (RFC 9562), 48 bits of Unix milliseconds then 74 random bits. Being
 * ordered by time, new ids land at the end of the primary key's index instead of all over it,
 * which keeps inserts cheap; the random bits make a collision within one millisecond negligible.
 * The random bits come from {@link ThreadLocalRandom}: no lock on the calling thread.
 */
final class EventIds {

    private EventIds() {}

    static UUID next() {
        final long millis = System.currentTimeMillis();
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        final long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
        final long lsb = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(msb, lsb);
    }
}
