package io.cy.coordinator.ids;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * New trace ids, for calls that come without one: version 7 UUIDs (RFC 9562), 48 bits of Unix
 * milliseconds, then 74 random bits. Ordered by time, as the audit log's event ids are, so that
 * the ids of new calls land together in the audit table's index on trace ids. Random (version 4)
 * ids landed all over it, and once the index outgrew PostgreSQL's buffers each audited call cost
 * it a page written out and another read in. The random bits come from {@link ThreadLocalRandom}:
 * no lock and no SecureRandom on an event loop; the ids name calls, they guard nothing.
 */
public final class TraceIdGenerator {

    private TraceIdGenerator() {}

    /** A new id in the UUID's text form. */
    public static String next() {
        final long millis = System.currentTimeMillis();
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        final long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
        final long lsb = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(msb, lsb).toString();
    }
}
