package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * When a JVM target's warm-up for a scenario may end: after runs in which its JIT compilers took
 * at most {@link #SETTLED_SHARE} of its CPU, {@link #SETTLED_RUNS} in a row after the first, or
 * when the next run would take the warm-up past its limit.
 *
 * <p>One quiet run is not enough. Code that runs once per batch rather than once per call (the
 * audit log's spool and encoding, its partition check) reaches C2's thresholds only after about a
 * minute of audited load, and a warm-up that ended on the quiet run before that charged the
 * compilation to the first pairs: 16 and 22 µs per call in the compiler threads of the audited
 * coordinator at {@code c1}, on a warm-up that had ended at under 1 %.
 *
 * <p>The first run does not count: it is where the JVM meets the scenario's load, and a quiet one
 * says only that the runs before compiled most of it. Counted, it let one 10 s run after it end a
 * warm-up at 30 s, and the compilers then took 16.9 µs per call in the first pair.
 */
final class JitWarmUp {

    /** The most of a JVM's CPU over a run its JIT compilers may take for the run to count as settled. */
    static final double SETTLED_SHARE = 0.03;
    /** How many settled runs in a row, after the first, end a warm-up. */
    static final int SETTLED_RUNS = 2;
    /**
     * The longest warm-up run after a scenario's first. With the bridge scenario's 30 s runs and
     * the 60 s limit, a JVM got one run after its first: settled or not, the limit came before a
     * second could follow it, and the bridge went into its pairs with its JIT still at work.
     */
    static final Duration SETTLING_RUN = Duration.ofSeconds(10);

    private final Duration limit;
    private Duration spent = Duration.ZERO;
    private int runs;
    private int settledInARow;

    /** @param limit the most warm-up in all */
    JitWarmUp(Duration limit) {
        this.limit = requireNonNull(limit, "limit");
    }

    /**
     * Whether a JVM's JIT compilers took at most {@link #SETTLED_SHARE} of its CPU over a run;
     * true when either figure is unknown, as there is nothing to wait for then.
     */
    static boolean settled(long cpuNanos, long jitCpuNanos) {
        return cpuNanos <= 0 || jitCpuNanos < 0 || jitCpuNanos <= SETTLED_SHARE * cpuNanos;
    }

    /** The length of the warm-up runs after a first run of {@code firstRun}: as long, up to {@link #SETTLING_RUN}. */
    static Duration settlingRun(Duration firstRun) {
        return firstRun.compareTo(SETTLING_RUN) < 0 ? firstRun : SETTLING_RUN;
    }

    /** Counts a warm-up run of {@code length}, with the JVM's CPU and its compilers' over it; the first never settles. */
    void add(Duration length, long cpuNanos, long jitCpuNanos) {
        spent = spent.plus(requireNonNull(length, "length"));
        settledInARow = runs > 0 && settled(cpuNanos, jitCpuNanos) ? settledInARow + 1 : 0;
        runs++;
    }

    /** Whether the last {@link #SETTLED_RUNS} runs were all settled. */
    boolean settled() {
        return settledInARow >= SETTLED_RUNS;
    }

    /** Whether another run of {@code length} should follow: not settled, and within the limit. */
    boolean wantsAnother(Duration length) {
        return !settled() && spent.plus(length).compareTo(limit) <= 0;
    }

    /** The warm-up counted so far. */
    Duration spent() {
        return spent;
    }

    /** How many of the last runs in a row were settled. */
    int settledInARow() {
        return settledInARow;
    }
}
