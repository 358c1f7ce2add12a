package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import io.cy.bench.load.LoadArgs;
import io.cy.bench.load.LoadPlan;
import io.cy.llm.proto.StreamPredictRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One row group of the comparison: a load, run the same way against every target.
 *
 * @param name short name, used by {@code --scenario}
 * @param kind what runs: a load against every target, the governed coordinator over gRPC and
 *     over its HTTP bridge, or the open-streams memory run
 * @param concurrency closed loop: calls open at once; open loop: most calls outstanding;
 *     memory run: streams held open
 * @param rate calls per second for an open loop; 0 for a closed loop
 * @param duration how long each measured run starts calls; in a memory run, how long the
 *     simulated sidecar holds every stream before its first chunk
 * @param warmup the length of the unreported run against each target before the first pair
 */
public record Scenario(
        String name,
        String description,
        Kind kind,
        int concurrency,
        double rate,
        Duration duration,
        Duration warmup,
        int tokens,
        int ttftMs,
        int gapMs,
        int promptBytes) {

    /** What a scenario runs, and against what. */
    public enum Kind {
        /** The load against every target: direct, nginx, each coordinator; compared with direct. */
        LOAD,
        /**
         * The load through the governed coordinator, over gRPC and over its HTTP bridge with
         * server-sent events, in turns; the bridge compared with gRPC.
         */
        BRIDGE,
        /** Streams held open through the governed coordinator, its memory read while they are. */
        MEMORY,
        /**
         * The load from h2load instead of the bench's own generator: direct to a sim on TCP,
         * through nginx and through the governed coordinator; compared with direct.
         */
        H2LOAD,
        /**
         * Two coordinators sharing quotas in one Redis, the load split over both at once, against
         * one coordinator with local quotas; run only when asked for by name.
         */
        REPLICAS
    }

    static final int PROMPT_BYTES = 64;
    static final String MODEL = "sim";
    /** Drain time beyond a paced call's own length. */
    private static final Duration DRAIN_MARGIN = Duration.ofSeconds(30);

    public Scenario {
        requireNonNull(name, "name");
        requireNonNull(description, "description");
        requireNonNull(kind, "kind");
        requireNonNull(duration, "duration");
        requireNonNull(warmup, "warmup");
    }

    /** The full set, about 16 minutes with nginx and four coordinator columns. */
    public static List<Scenario> full() {
        return List.of(
                // The first scenario: whatever the common warm-up left to compile is compiled here.
                // C2 still recompiled the forwarding path and the audit writer's batch (half a
                // second each on this VM) after 10 s of it: 20 s.
                closed("c1", "concurrency 1, 16 tokens, zero delay: pure per-call overhead",
                        1, 5, 20, 16, 0, 0),
                closed("c64", "concurrency 64, 16 tokens, zero delay: saturation",
                        64, 6, 3, 16, 0, 0),
                h2load("h2c1", 1, 5, 5),
                h2load("h2c64", 64, 6, 3),
                // The first paced scenario: a message arrives on its own, a path the common warm-up
                // (unpaced, messages batched) leaves to the JIT to settle on here. Its p99 wants calls.
                open("open500", "open loop 500 calls/s, 16 tokens, 50 ms to first token, 20 ms between tokens",
                        500, 2000, 8, 15, 16, 50, 20),
                closed("c1000", "1,000 concurrent streams, 64 tokens, 50 ms to first token, 20 ms between tokens",
                        1000, 6, 3, 64, 50, 20),
                // The HTTP path is not in the common warm-up: it gets a long one of its own (the JIT
                // needs some 30 s of one-at-a-time calls on two cores to settle on it).
                bridge("sse", 5, 30),
                memory("mem10k", 10_000, 30));
    }

    /**
     * The scenarios run only when named with {@code --scenario}: they need more than the machine
     * (a Redis).
     */
    public static List<Scenario> onRequest(boolean quick) {
        return List.of(replicas("replicas2", quick ? 2 : 5, quick ? 2 : 5));
    }

    /**
     * Two coordinators with {@code quota.store: redis}: 64 calls open in all (32 on each), then one
     * at a time on each; 16 tokens, zero delay.
     */
    private static Scenario replicas(String name, int seconds, int warmupS) {
        return new Scenario(name, "two coordinators sharing quotas in one Redis (quota.store: redis), the load"
                + " split over both at once, against one coordinator with local quotas", Kind.REPLICAS, 64, 0,
                Duration.ofSeconds(seconds), Duration.ofSeconds(warmupS), 16, 0, 0, PROMPT_BYTES);
    }

    /** A smoke run of about a minute: short runs, fewer streams; its figures are not for publishing. */
    public static List<Scenario> quick() {
        return List.of(
                closed("c1", "concurrency 1, 16 tokens, zero delay: pure per-call overhead",
                        1, 2, 1, 16, 0, 0),
                closed("c64", "concurrency 64, 16 tokens, zero delay: saturation",
                        64, 2, 1, 16, 0, 0),
                h2load("h2c1", 1, 2, 1),
                h2load("h2c64", 64, 2, 1),
                open("open500", "open loop 500 calls/s, 16 tokens, 50 ms to first token, 20 ms between tokens",
                        500, 2000, 2, 1, 16, 50, 20),
                bridge("sse", 2, 5),
                memory("mem2k", 2_000, 12));
    }

    private static Scenario closed(String name, String description, int concurrency, int seconds, int warmupS,
            int tokens, int ttftMs, int gapMs) {
        return new Scenario(name, description, Kind.LOAD, concurrency, 0, Duration.ofSeconds(seconds),
                Duration.ofSeconds(warmupS), tokens, ttftMs, gapMs, PROMPT_BYTES);
    }

    /** One call at a time, 16 tokens, no delay: what the bridge adds to each call, and to its first token. */
    private static Scenario bridge(String name, int seconds, int warmupS) {
        return new Scenario(name, "concurrency 1, 16 tokens, zero delay: the HTTP bridge with SSE vs gRPC",
                Kind.BRIDGE, 1, 0, Duration.ofSeconds(seconds),
                Duration.ofSeconds(warmupS), 16, 0, 0, PROMPT_BYTES);
    }

    /** h2load's calls, 16 tokens, no delay: 1 connection with 1 stream, or 16 streams on each connection. */
    private static Scenario h2load(String name, int concurrency, int seconds, int warmupS) {
        return new Scenario(name, "h2load, " + concurrency + " in flight, 16 tokens, zero delay", Kind.H2LOAD,
                concurrency, 0, Duration.ofSeconds(seconds), Duration.ofSeconds(warmupS), 16, 0, 0, PROMPT_BYTES);
    }

    /**
     * The request every h2load call sends: {@code tokens} chunks at the scenario's pacing, with a
     * {@code metadata.trace_id} as the gateway's requests have (CONTRACT.md). Without one the
     * coordinator assigns one and the sim echoes it in every message, bytes only the coordinator's
     * path would carry. h2load sends one fixed body, so all its calls share this id.
     */
    public StreamPredictRequest streamRequest() {
        return LoadPlan.withTraceId(request(), UUID.randomUUID().toString());
    }

    private static Scenario open(String name, String description, double rate, int outstanding, int seconds,
            int warmupS, int tokens, int ttftMs, int gapMs) {
        return new Scenario(name, description, Kind.LOAD, outstanding, rate, Duration.ofSeconds(seconds),
                Duration.ofSeconds(warmupS), tokens, ttftMs, gapMs, PROMPT_BYTES);
    }

    private static Scenario memory(String name, int streams, int holdS) {
        return new Scenario(name, String.format("%,d open streams through the coordinator, 512 MB heap", streams),
                Kind.MEMORY, streams, 0, Duration.ofSeconds(holdS), Duration.ZERO, 16, holdS * 1000, 0, PROMPT_BYTES);
    }

    /** The same scenario, described otherwise: e.g. with the coordinator it ran through. */
    public Scenario withDescription(String newDescription) {
        return new Scenario(name, newDescription, kind, concurrency, rate, duration, warmup, tokens, ttftMs, gapMs,
                promptBytes);
    }

    /** The same scenario warmed up for at least {@code least}; the memory run, which has no warm-up, as it is. */
    public Scenario withWarmupAtLeast(Duration least) {
        if (memory() || warmup.compareTo(least) >= 0) {
            return this;
        }
        return new Scenario(name, description, kind, concurrency, rate, duration, least, tokens, ttftMs, gapMs,
                promptBytes);
    }

    /** The same load with {@code n} calls open at once (a closed loop). */
    public Scenario withConcurrency(int n, String newName, String newDescription) {
        return new Scenario(newName, newDescription, kind, n, rate, duration, warmup, tokens, ttftMs, gapMs,
                promptBytes);
    }

    /** Whether this is the open-streams memory run. */
    public boolean memory() {
        return kind == Kind.MEMORY;
    }

    /** Whether this is a closed loop of one call at a time: the scenario whose proxies' system calls are counted. */
    public boolean oneAtATime() {
        return kind == Kind.LOAD && concurrency == 1 && rate == 0;
    }

    /** Client connections: as the load command picks them, one per 1,000 concurrent streams. */
    public int channels() {
        return LoadArgs.defaultChannels(concurrency);
    }

    /**
     * The measured run.
     *
     * @param token the bearer token every call carries; null for none
     */
    public LoadPlan plan(String token) {
        return plan(duration, token);
    }

    /** The unreported run before the first pair: the same load, shorter. */
    public LoadPlan warmupPlan(String token) {
        return plan(warmup, token);
    }

    /** A warm-up run of {@code length} instead of the scenario's own. */
    public LoadPlan warmupPlan(Duration length, String token) {
        return plan(length, token);
    }

    /** Every stream held open by the sim for {@code duration}, then answered with {@code tokens} chunks. */
    public LoadPlan memoryPlan(String token) {
        return new LoadPlan(concurrency, concurrency, duration, 0, request(), tokens, token,
                duration.plus(DRAIN_MARGIN));
    }

    private LoadPlan plan(Duration length, String token) {
        return new LoadPlan(concurrency, Long.MAX_VALUE, length, rate, request(), tokens, token,
                Duration.ofMillis(callMillis()).plus(DRAIN_MARGIN));
    }

    private StreamPredictRequest request() {
        final Map<String, String> pacing = LoadPlan.simPacing(ttftMs, gapMs);
        return LoadPlan.request(MODEL, promptBytes, tokens, pacing);
    }

    /** How long one call takes at the sim's pacing alone. */
    long callMillis() {
        return ttftMs + (long) Math.max(0, tokens - 1) * gapMs;
    }

    /** E.g. "3 pairs x 10 s". */
    String runs(int pairs) {
        return memory() ? "one run, streams held " + duration.toSeconds() + " s"
                : pairs + (pairs == 1 ? " pair" : " pairs") + " x " + duration.toSeconds() + " s";
    }
}
