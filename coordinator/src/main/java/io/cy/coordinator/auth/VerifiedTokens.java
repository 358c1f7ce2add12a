package io.cy.coordinator.auth;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens whose signature was already checked, by SHA-256, until they expire: the hot path does
 * no signature work for a token it has seen. Bounded: when full, expired entries go first, then
 * an arbitrary tenth.
 */
final class VerifiedTokens {

    private record Entry(Identity identity, long expiresAtMillis) {}

    private final int maxEntries;
    private final Map<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();
    // Bumped by clear(): a verification that began before the keys changed is not remembered.
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

    VerifiedTokens(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    /** The identity of a token verified before and not expired at {@code nowMillis}, or null. */
    Identity get(byte[] sha256, long nowMillis) {
        final Entry entry = entries.get(ByteBuffer.wrap(sha256));
        if (entry == null) {
            return null;
        }
        if (entry.expiresAtMillis <= nowMillis) {
            entries.remove(ByteBuffer.wrap(sha256), entry);
            return null;
        }
        return entry.identity;
    }

    /** Read before verifying a token; hand it to {@link #put}. */
    long generation() {
        return generation.get();
    }

    void put(byte[] sha256, Identity identity, long expiresAtMillis, long nowMillis, long verifiedInGeneration) {
        if (maxEntries == 0) {
            return;
        }
        if (entries.size() >= maxEntries) {
            evict(nowMillis);
        }
        entries.put(ByteBuffer.wrap(sha256), new Entry(identity, expiresAtMillis));
        if (generation.get() != verifiedInGeneration) {
            // The keys changed while this token was being checked: forget it again.
            entries.remove(ByteBuffer.wrap(sha256));
        }
    }

    /** Forgets everything, e.g. after the signing keys changed. */
    void clear() {
        generation.incrementAndGet();
        entries.clear();
    }

    int size() {
        return entries.size();
    }

    private void evict(long nowMillis) {
        entries.values().removeIf(e -> e.expiresAtMillis <= nowMillis);
        int toRemove = entries.size() - maxEntries + Math.max(1, maxEntries / 10);
        final Iterator<ByteBuffer> keys = entries.keySet().iterator();
        while (toRemove-- > 0 && keys.hasNext()) {
            keys.next();
            keys.remove();
        }
    }
}
