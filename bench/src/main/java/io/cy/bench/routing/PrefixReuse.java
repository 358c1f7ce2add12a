package io.cy.bench.routing;

import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.SidecarRouter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * A deterministic workload of shared system prompts, each followed by a user turn of its own,
 * routed by one policy over sidecars whose calls in flight are simulated: one call arrives per
 * tick and lasts a random number of ticks, so that about {@code concurrency} are open at a time.
 * Counts how often a call's system prompt went to a sidecar that had seen it before, and how
 * often to one that still held it among the last {@code cachedPrompts} prompts it saw (what a
 * worker's KV cache of that many prefixes would have hit).
 */
public final class PrefixReuse {

    /** The workload; the same seed gives the same calls whatever the policy. */
    public record Workload(int calls, int systemPrompts, int concurrency, int cachedPrompts, long seed) {}

    /**
     * What a policy made of it.
     *
     * @param reused calls whose system prompt its sidecar had seen before
     * @param cached calls whose system prompt was among the last {@code cachedPrompts} its sidecar saw
     * @param busiestShare the share of calls the busiest sidecar took
     * @param maxInflight the most calls in flight on one sidecar at any time
     */
    public record Result(int calls, int reused, int cached, double busiestShare, int maxInflight) {

        public double reuseRate() {
            return (double) reused / calls;
        }

        public double cacheHitRate() {
            return (double) cached / calls;
        }
    }

    private PrefixReuse() {}

    public static Result run(Workload workload, SidecarRouter router, List<Sidecar> sidecars) {
        // Through the pool, as calls are: it counts each call against the sidecar chosen.
        final SidecarPool pool = new SidecarPool(sidecars, router);
        final Random random = new Random(workload.seed());
        final List<String> systemPrompts = systemPrompts(workload.systemPrompts(), random);
        final List<LinkedHashSet<Integer>> seen = new ArrayList<>();
        final List<LinkedHashSet<Integer>> recent = new ArrayList<>();
        final int[] served = new int[sidecars.size()];
        for (int i = 0; i < sidecars.size(); i++) {
            seen.add(new LinkedHashSet<>());
            recent.add(new LinkedHashSet<>());
        }
        // Open calls by the tick they end at.
        final PriorityQueue<long[]> open = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
        int reused = 0;
        int cached = 0;
        int maxInflight = 0;
        for (int call = 0; call < workload.calls(); call++) {
            while (!open.isEmpty() && open.peek()[0] <= call) {
                sidecars.get((int) open.poll()[1]).release();
            }
            final int prompt = random.nextInt(workload.systemPrompts());
            final String text = systemPrompts.get(prompt) + "\nUser: question " + call + " about item "
                    + random.nextInt(1_000_000) + "\nAssistant:";
            final Sidecar sidecar = pool.acquire(List.of(), new RoutingKey("", text, ""));
            maxInflight = Math.max(maxInflight, sidecar.inflight());
            final int index = sidecars.indexOf(sidecar);
            served[index]++;
            open.add(new long[] {call + 1 + random.nextInt(2 * workload.concurrency()), index});
            if (!seen.get(index).add(prompt)) {
                reused++;
            }
            if (touch(recent.get(index), prompt, workload.cachedPrompts())) {
                cached++;
            }
        }
        while (!open.isEmpty()) {
            sidecars.get((int) open.poll()[1]).release();
        }
        int busiest = 0;
        for (int n : served) {
            busiest = Math.max(busiest, n);
        }
        return new Result(workload.calls(), reused, cached, (double) busiest / workload.calls(), maxInflight);
    }

    /** Marks {@code prompt} most recent in an LRU of {@code capacity}; whether it was there. */
    private static boolean touch(LinkedHashSet<Integer> lru, Integer prompt, int capacity) {
        final boolean hit = lru.remove(prompt);
        lru.add(prompt);
        if (lru.size() > capacity) {
            lru.remove(lru.iterator().next());
        }
        return hit;
    }

    /** Distinct system prompts of 600 to 1,500 bytes, as applications and agents write them. */
    static List<String> systemPrompts(int n, Random random) {
        final String[] words = {"assistant", "answer", "tenant", "policy", "context", "cite", "sources", "brief",
                "format", "json", "never", "reveal", "tools", "search", "summarise", "language", "polite", "steps"};
        final List<String> prompts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final StringBuilder text = new StringBuilder("System: You are agent ").append(i).append(".");
            final int length = 600 + random.nextInt(900);
            while (text.length() < length) {
                text.append(' ').append(words[random.nextInt(words.length)]);
            }
            prompts.add(text.toString());
        }
        return prompts;
    }
}
