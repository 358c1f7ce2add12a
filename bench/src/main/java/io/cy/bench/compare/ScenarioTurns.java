package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import io.cy.bench.compare.CompareCommand.CompareFailure;
import io.cy.bench.load.LoadPlan;
import io.cy.bench.load.LoadResult;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The turns of one {@code cy-bench load} scenario: a warm-up against every target, then the
 * pairs, every target once per pair (see {@link #turnOrder}). Each target keeps the connections
 * its warm-up opened until the scenario ends, as a gateway keeps its channels: a JVM target that
 * saw connections close and open between its runs deoptimized its read loop each time and
 * recompiled it during the pairs, JIT work no long-lived client causes. After its first warm-up
 * run a JVM target gets more, of at most {@link JitWarmUp#SETTLING_RUN} each, until its JIT has
 * settled ({@link JitWarmUp}).
 */
final class ScenarioTurns {

    /** Opens a target's connections, none connected yet. */
    @FunctionalInterface
    interface Connector {
        Connected connect(Target target, int concurrency, int channels) throws CompareFailure;
    }

    /** One run of a plan over a target's connections, with the CPU each process spent over it. */
    @FunctionalInterface
    interface Meter {
        RunFigures measure(Connected connections, LoadPlan plan, Target target)
                throws CompareFailure, InterruptedException;
    }

    /** Counts a proxy's system calls over one run of a plan; null when they could not be counted. */
    @FunctionalInterface
    interface CallCounter {
        SystemCalls.PerCall count(Connected connections, LoadPlan plan, Target target)
                throws CompareFailure, InterruptedException;
    }

    /** The length of the run in which a proxy's system calls are counted. */
    static final Duration COUNTED_RUN = Duration.ofSeconds(3);

    private final Connector connector;
    private final Meter meter;
    private final CallCounter counter;
    private final Duration warmUpLimit;
    private final PrintStream err;

    /**
     * @param connector opens a target's connections for a scenario
     * @param meter runs a plan against a target and reads its figures
     * @param counter counts each proxy's system calls in a run of their own after the pairs of a
     *     scenario of one call at a time; null for none
     * @param warmUpLimit the most warm-up per target ({@link JitWarmUp})
     * @param err where the progress lines go
     */
    ScenarioTurns(Connector connector, Meter meter, CallCounter counter, Duration warmUpLimit, PrintStream err) {
        this.connector = requireNonNull(connector, "connector");
        this.meter = requireNonNull(meter, "meter");
        this.counter = counter;
        this.warmUpLimit = requireNonNull(warmUpLimit, "warmUpLimit");
        this.err = requireNonNull(err, "err");
    }

    /** Runs {@code scenario} against {@code targets}: its warm-ups, then {@code pairs} pairs. */
    ScenarioResult run(Scenario scenario, List<Target> targets, int pairs, String token)
            throws CompareFailure, InterruptedException {
        final LoadPlan plan = scenario.plan(token);
        err.println();
        err.println("[" + scenario.name() + "] " + scenario.description() + ": " + scenario.runs(pairs)
                + ", " + plan.describe() + "; each target's connections kept from its warm-up on");
        final Map<String, Connected> connected = new LinkedHashMap<>();
        try {
            for (Target target : targets) {
                final Connected connections = connector.connect(target, plan.concurrency(), scenario.channels());
                connected.put(target.name(), connections);
                err.println("[" + scenario.name() + "] warm-up, " + target.name() + " ("
                        + scenario.warmup().toSeconds() + " s)");
                RunFigures warm = meter.measure(connections, scenario.warmupPlan(token), target);
                final JitWarmUp warmUp = new JitWarmUp(warmUpLimit);
                warmUp.add(scenario.warmup(), warm.proxyCpuNanos(), warm.proxyJitCpuNanos());
                final Duration settling = JitWarmUp.settlingRun(scenario.warmup());
                while (target.jitWarmUp() && warmUp.wantsAnother(settling)) {
                    warm = meter.measure(connections, scenario.warmupPlan(settling, token), target);
                    warmUp.add(settling, warm.proxyCpuNanos(), warm.proxyJitCpuNanos());
                    err.println(warmUpProgress(scenario, target, warmUp, warm.proxyCpuNanos(),
                            warm.proxyJitCpuNanos()));
                }
            }
            final ScenarioResult result = new ScenarioResult(scenario);
            for (int pair = 1; pair <= pairs; pair++) {
                for (Target target : turnOrder(targets, pair)) {
                    final RunFigures run = meter.measure(connected.get(target.name()), plan, target);
                    result.add(target.name(), run);
                    err.println(progress(scenario, pair, pairs, target, run));
                }
            }
            if (counter != null && scenario.oneAtATime()) {
                // A run of its own: perf's tracepoints cost the proxies something on every system
                // call, and nginx makes more of them, so the measured pairs are left untouched.
                for (Target target : targets) {
                    if (target.proxy() == null) {
                        continue;
                    }
                    final SystemCalls.PerCall counted = counter.count(connected.get(target.name()),
                            scenario.warmupPlan(COUNTED_RUN, token), target);
                    if (counted != null) {
                        result.addSystemCalls(counted);
                        err.println("[" + scenario.name() + "] system calls per call, " + counted.describe());
                    }
                }
            }
            return result;
        } finally {
            connected.values().forEach(Connected::close);
        }
    }

    /**
     * The targets in the order they run in pair {@code pair} (from 1): as given in odd pairs,
     * reversed in even ones. The machine's speed drifts during a scenario (other VMs on the host,
     * the audit database's background work): in one order every time, the same target would
     * always run last, just before or after the baseline, and take the drift's bias in every pair.
     */
    static <T> List<T> turnOrder(List<T> targets, int pair) {
        if (pair % 2 == 1) {
            return targets;
        }
        final List<T> reversed = new ArrayList<>(targets);
        Collections.reverse(reversed);
        return reversed;
    }

    /** The line that follows a JVM target's warm-up run after its first. */
    static String warmUpProgress(Scenario scenario, Target target, JitWarmUp warmUp, long cpuNanos, long jitNanos) {
        return String.format(Locale.ROOT, "[%s] warm-up, %s: %d s in all; its JIT compilers took %.1f %% of"
                + " its CPU over the last run%s", scenario.name(), target.name(), warmUp.spent().toSeconds(),
                cpuNanos > 0 && jitNanos >= 0 ? 100.0 * jitNanos / cpuNanos : Double.NaN,
                warmUp.settled() ? ", settled (" + warmUp.settledInARow() + " runs in a row)"
                        : warmUp.settledInARow() > 0 ? ", settled in this run" : "");
    }

    private static String progress(Scenario scenario, int pair, int pairs, Target target, RunFigures run) {
        final LoadResult r = run.result();
        return String.format(Locale.ROOT,
                "[%s] pair %d/%d %-16s %8.0f calls/s  ttfc p50 %.3f p99 %.3f ms  gap p50 %.1f us  errors %d%s",
                scenario.name(), pair, pairs, target.name(), r.callsPerSecond(), r.ttfcSummary().p50() / 1e6,
                r.ttfcSummary().p99() / 1e6, r.gapSummary().p50() / 1e3, r.errorCount(),
                Double.isNaN(run.proxyCpuPerCallMicros()) ? ""
                        : String.format(Locale.ROOT, "  proxy CPU %.1f us/call (JIT %.1f)", run.proxyCpuPerCallMicros(),
                                run.proxyJitCpuPerCallMicros()));
    }
}
