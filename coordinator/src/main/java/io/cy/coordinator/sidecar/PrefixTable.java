package io.cy.coordinator.sidecar;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which sidecar served each prefix block last: a fixed-size set-associative table of at most
 * {@code maxPrefixes} entries, allocated once. A block hash selects a set of {@value #WAYS}
 * entries; a new block takes a free entry of its set or the one used longest ago (LRU within the
 * set), so the table never grows and hot prefixes stay.
 *
 * <p>Lock-free: each entry is three longs (block hash, placement, last use) in one array, written
 * without coordination. Racing writers may lose a placement or leave an entry whose placement is
 * not its hash's; the placement carries bits of its hash, so such an entry reads as absent. At
 * worst a call then goes to the least loaded sidecar instead of its prefix's, which only costs a
 * cache miss, and the table learns the placement again.
 *
 * <p>A placement names a sidecar by its index in the backend's list and its address hash, so a
 * list that changed (a reload) makes stale placements read as absent rather than wrong.
 */
final class PrefixTable {

    static final int DEFAULT_MAX_PREFIXES = 10_000;

    private static final int WAYS = 8;
    private static final int FIELDS = 3;
    private static final int KEY = 0;
    private static final int PLACEMENT = 1;
    private static final int USED = 2;
    // A placement is the sidecar's index (16 bits), its address hash (32) and the block's check (16).
    private static final int MAX_INDEX = 0xFFFF;

    private final int sets;
    private final AtomicLongArray entries;
    // A logical clock for LRU: one tick per recorded call.
    private final AtomicLong clock = new AtomicLong();

    PrefixTable(int maxPrefixes) {
        if (maxPrefixes < WAYS) {
            throw new IllegalArgumentException("maxPrefixes: " + maxPrefixes + " (expected: >= " + WAYS + ")");
        }
        this.sets = maxPrefixes / WAYS;
        this.entries = new AtomicLongArray(sets * WAYS * FIELDS);
    }

    /** How many entries the table can hold: the bound on tracked prefix blocks. */
    int capacity() {
        return sets * WAYS;
    }

    /** How many entries are in use; a scan of the whole table, for tests and diagnostics. */
    int size() {
        int used = 0;
        for (int slot = 0; slot < capacity(); slot++) {
            if (entries.get(slot * FIELDS + KEY) != 0) {
                used++;
            }
        }
        return used;
    }

    /**
     * Where the longest of the first {@code count} prefixes in {@code blocks} was served, as
     * {@link #index} and {@link #depth} of the result, or -1 when none is known. Looks from the
     * longest down, so a prompt that shares a system prompt with earlier ones finds it in a few
     * probes.
     */
    long longestMatch(long[] blocks, int count, List<Sidecar> sidecars) {
        for (int depth = count - 1; depth >= 0; depth--) {
            final int index = placement(blocks[depth], sidecars);
            if (index >= 0) {
                return ((long) depth << 32) | index;
            }
        }
        return -1;
    }

    /** The sidecar's index in a match of {@link #longestMatch}. */
    static int index(long match) {
        return (int) match;
    }

    /** How many blocks deep a match of {@link #longestMatch} is, less one. */
    static int depth(long match) {
        return (int) (match >>> 32);
    }

    /**
     * Records that {@code sidecars.get(index)} served the prefixes in {@code blocks} from
     * {@code from} to {@code count} (exclusive): the caller leaves out those it just found there,
     * whose entries the lookup already marked used.
     */
    void record(long[] blocks, int from, int count, List<Sidecar> sidecars, int index) {
        if (index > MAX_INDEX || from >= count) {
            return;
        }
        final long placement = ((long) index << 48) | ((sidecars.get(index).addressHash() & 0xFFFFFFFFL) << 16);
        final long now = clock.incrementAndGet();
        for (int depth = from; depth < count; depth++) {
            put(blocks[depth], placement | check(blocks[depth]), now);
        }
    }

    private int placement(long block, List<Sidecar> sidecars) {
        final int base = setBase(block);
        for (int way = 0; way < WAYS; way++) {
            final int entry = base + way * FIELDS;
            if (entries.getAcquire(entry + KEY) != block) {
                continue;
            }
            final long placement = entries.getPlain(entry + PLACEMENT);
            if ((placement & 0xFFFFL) != check(block)) {
                return -1;
            }
            final int index = (int) (placement >>> 48);
            if (index >= sidecars.size()
                    || (int) (placement >>> 16) != (int) sidecars.get(index).addressHash()) {
                return -1;
            }
            entries.setPlain(entry + USED, clock.get());
            return index;
        }
        return -1;
    }

    private void put(long block, long placement, long now) {
        final int base = setBase(block);
        int victim = base;
        long oldest = Long.MAX_VALUE;
        for (int way = 0; way < WAYS; way++) {
            final int entry = base + way * FIELDS;
            final long key = entries.getPlain(entry + KEY);
            if (key == block) {
                victim = entry;
                break;
            }
            final long used = key == 0 ? Long.MIN_VALUE : entries.getPlain(entry + USED);
            if (used < oldest) {
                oldest = used;
                victim = entry;
            }
        }
        if (entries.getPlain(victim + KEY) == block && entries.getPlain(victim + PLACEMENT) == placement) {
            // Already placed there: only the use is news.
            entries.setPlain(victim + USED, now);
            return;
        }
        entries.setPlain(victim + PLACEMENT, placement);
        entries.setPlain(victim + USED, now);
        // Published last, so a reader that sees the hash sees the placement written with it.
        entries.setRelease(victim + KEY, block);
    }

    // The bits of a block hash a placement carries. Not the high bits: those chose the set, so
    // they are alike among the hashes that share an entry.
    private static long check(long block) {
        return block & 0xFFFFL;
    }

    private int setBase(long block) {
        // Lemire's multiply-shift maps the hash onto [0, sets) without a division.
        final int set = (int) (((block >>> 32) * sets) >>> 32);
        return set * WAYS * FIELDS;
    }
}
