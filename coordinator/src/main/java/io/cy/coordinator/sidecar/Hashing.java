package io.cy.coordinator.sidecar;

/** The 64-bit mixing the hashing policies share. */
final class Hashing {

    private Hashing() {}

    /**
     * MurmurHash3's 64-bit finalizer: every input bit flips about half the output bits, so that
     * nearby inputs (addresses differing in one digit, successive keys) spread evenly.
     */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
