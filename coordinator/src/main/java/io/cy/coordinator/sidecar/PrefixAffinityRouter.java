package io.cy.coordinator.sidecar;

import java.util.List;

/**
 * Sends prompts that share a prefix to the sidecar that served that prefix before, so that its
 * worker finds the prefix in its KV cache: the cache-aware policy of SGLang's router, over an
 * approximate prefix tree of hashed blocks ({@link PromptBlocks}) of the prompt's first
 * {@code affinity_prefix_bytes} bytes, kept in a bounded table ({@link PrefixTable}).
 *
 * <p>The sidecar of the longest known prefix keeps the call while it is available and has at
 * most {@code balance_threshold} calls in flight more than the least loaded one; otherwise, and
 * for a prefix never seen, the least loaded sidecar gets it. Either way the table learns where
 * the prompt's prefixes went, so a prefix follows its sidecar when load moves it.
 */
public final class PrefixAffinityRouter implements SidecarRouter {

    private final int prefixBytes;
    private final int threshold;
    private final PrefixTable table;
    private final LeastLoaded leastLoaded = new LeastLoaded();

    public PrefixAffinityRouter(int prefixBytes, int threshold) {
        this(prefixBytes, threshold, PrefixTable.DEFAULT_MAX_PREFIXES);
    }

    /**
     * @param maxPrefixes the most prefix blocks remembered; the least recently used go first
     */
    PrefixAffinityRouter(int prefixBytes, int threshold, int maxPrefixes) {
        if (prefixBytes < 1) {
            throw new IllegalArgumentException("affinity_prefix_bytes: " + prefixBytes + " (expected: >= 1)");
        }
        if (threshold < 0) {
            throw new IllegalArgumentException("balance_threshold: " + threshold + " (expected: >= 0)");
        }
        this.prefixBytes = prefixBytes;
        this.threshold = threshold;
        this.table = new PrefixTable(maxPrefixes);
    }

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key) {
        final String prompt = key.prompt();
        if (prompt.isEmpty()) {
            return leastLoaded.pick(sidecars, tried);
        }
        // At most affinity_prefix_bytes / 64 longs, besides the prefix's bytes.
        final long[] blocks = new long[PromptBlocks.maxBlocks(prompt.length(), prefixBytes)];
        final int count = PromptBlocks.hash(prompt, prefixBytes, blocks);
        final long match = table.longestMatch(blocks, count, sidecars);
        if (match >= 0) {
            final int known = PrefixTable.index(match);
            final Sidecar affine = sidecars.get(known);
            if (Availability.withinThreshold(affine, sidecars, tried, threshold)) {
                // The blocks up to the match are there already; only the longer ones are news.
                table.record(blocks, PrefixTable.depth(match) + 1, count, sidecars, known);
                return affine;
            }
        }
        final Sidecar chosen = leastLoaded.pick(sidecars, tried);
        if (chosen != null) {
            table.record(blocks, 0, count, sidecars, indexOf(sidecars, chosen));
        }
        return chosen;
    }

    /** How many prefix blocks are remembered now; never more than the table's capacity. */
    int trackedPrefixes() {
        return table.size();
    }

    int maxTrackedPrefixes() {
        return table.capacity();
    }

    private static int indexOf(List<Sidecar> sidecars, Sidecar sidecar) {
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            if (sidecars.get(i) == sidecar) {
                return i;
            }
        }
        throw new IllegalStateException("picked a sidecar not in the list: " + sidecar);
    }
}
