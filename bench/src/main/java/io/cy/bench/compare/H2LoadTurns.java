package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import io.cy.bench.compare.CompareCommand.CompareFailure;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The turns of one h2load scenario: a warm-up against every target, then the pairs, every target
 * once per pair in {@link ScenarioTurns#turnOrder}. Unlike {@code cy-bench load}, h2load opens its
 * connections anew for every run, so a target's warm-up starts with two runs: the JVM targets
 * deoptimize code when the first run's connections close and the next run's connections open
 * (branches never taken while they stayed open), and recompile it in the second run instead of
 * in the first pair. A JVM target then gets runs of at most {@link JitWarmUp#SETTLING_RUN} until
 * its JIT has settled ({@link JitWarmUp}).
 */
final class H2LoadTurns {

    /** One h2load run against a target, with the CPU each process spent over it and the statuses counted. */
    @FunctionalInterface
    interface Meter {
        /**
         * @param connections h2load's {@code -c}
         * @param streams h2load's {@code -m}, streams at once on each connection
         * @param log the name of the file h2load's output goes to, without its extension
         */
        H2LoadRun measure(Target target, int connections, int streams, Duration length, String log)
                throws CompareFailure, IOException, InterruptedException;
    }

    /** Streams per connection when a scenario has enough in flight to fill more than one. */
    private static final int STREAMS_PER_CONNECTION = 16;

    private final Meter meter;
    private final Duration warmUpLimit;
    private final PrintStream err;

    /**
     * @param warmUpLimit the most warm-up per target ({@link JitWarmUp})
     * @param err where the progress lines go
     */
    H2LoadTurns(Meter meter, Duration warmUpLimit, PrintStream err) {
        this.meter = requireNonNull(meter, "meter");
        this.warmUpLimit = requireNonNull(warmUpLimit, "warmUpLimit");
        this.err = requireNonNull(err, "err");
    }

    /** h2load's connections for {@code concurrency} in flight: 4 × 16 streams for 64, one for a single call. */
    static int connections(int concurrency) {
        return concurrency >= STREAMS_PER_CONNECTION ? concurrency / STREAMS_PER_CONNECTION : 1;
    }

    /** Runs {@code scenario} against {@code targets}: their warm-ups, then {@code pairs} pairs. */
    H2LoadScenarioResult run(Scenario scenario, List<Target> targets, int pairs)
            throws CompareFailure, IOException, InterruptedException {
        final int connections = connections(scenario.concurrency());
        final int streams = scenario.concurrency() / connections;
        err.println();
        err.println("[" + scenario.name() + "] " + scenario.description() + ": h2load -c " + connections + " -m "
                + streams + ", " + scenario.runs(pairs));
        for (Target target : targets) {
            warmUp(scenario, target, connections, streams);
        }
        final H2LoadScenarioResult result = new H2LoadScenarioResult(scenario, connections, streams);
        for (int pair = 1; pair <= pairs; pair++) {
            for (Target target : ScenarioTurns.turnOrder(targets, pair)) {
                final H2LoadRun run = meter.measure(target, connections, streams, scenario.duration(),
                        log(scenario, target, String.valueOf(pair)));
                result.add(target.name(), run);
                err.println(String.format(Locale.ROOT, "[%s] pair %d/%d %-16s %s; statuses %s%s", scenario.name(),
                        pair, pairs, target.name(), run.h2load(), run.describeStatuses(),
                        Double.isNaN(run.proxyCpuPerCallMicros()) ? "" : String.format(Locale.ROOT,
                                "  proxy CPU %.1f us/call", run.proxyCpuPerCallMicros())));
            }
        }
        return result;
    }

    private void warmUp(Scenario scenario, Target target, int connections, int streams)
            throws CompareFailure, IOException, InterruptedException {
        final Duration length = scenario.warmup();
        final H2LoadRun first = meter.measure(target, connections, streams, length,
                log(scenario, target, "warm-up"));
        final H2LoadRun second = meter.measure(target, connections, streams, length, log(scenario, target, "0"));
        err.println("[" + scenario.name() + "] warm-up, " + target.name() + " (twice " + length.toSeconds()
                + " s, connecting again): " + second.h2load());
        if (!target.jitWarmUp()) {
            return;
        }
        final JitWarmUp warmUp = new JitWarmUp(warmUpLimit);
        warmUp.add(length.multipliedBy(2), sum(first.proxyCpuNanos(), second.proxyCpuNanos()),
                sum(first.proxyJitCpuNanos(), second.proxyJitCpuNanos()));
        final Duration settling = JitWarmUp.settlingRun(length);
        for (int n = 1; warmUp.wantsAnother(settling); n++) {
            final H2LoadRun run = meter.measure(target, connections, streams, settling,
                    log(scenario, target, "warm-up-" + n));
            warmUp.add(settling, run.proxyCpuNanos(), run.proxyJitCpuNanos());
            err.println(ScenarioTurns.warmUpProgress(scenario, target, warmUp, run.proxyCpuNanos(),
                    run.proxyJitCpuNanos()));
        }
    }

    private static String log(Scenario scenario, Target target, String run) {
        return "h2load-" + scenario.name() + "-" + target.name() + "-" + run;
    }

    private static long sum(long a, long b) {
        return a < 0 || b < 0 ? -1 : a + b;
    }
}
