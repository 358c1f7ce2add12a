package io.cy.bench.compare;

import io.cy.bench.compare.CompareCommand.CompareFailure;
import io.cy.bench.compare.CompareCommand.Variant;
import io.cy.bench.load.LoadPlan;
import io.cy.bench.load.LoadResult;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import org.HdrHistogram.Histogram;

/**
 * The {@code replicas2} scenario: two coordinators with {@code quota.store: redis} on one Redis
 * and the same quota policy, the load split over both at once, against one coordinator with local
 * quotas, in turns. Each replicas run reads the Redis's command counts before and after, so the
 * report shows Redis round trips (scripts) per call: one at admission and one at settlement are
 * what the quota store should cost.
 */
final class ReplicasRun {

    static final String LOCAL = "local (1 replica)";
    static final String REPLICA_1 = "replica-1";
    static final String REPLICA_2 = "replica-2";
    static final String TOGETHER = "together";

    /** Starts a coordinator with {@code env} listening on {@code port}. */
    @FunctionalInterface
    interface Starter {
        ChildProcess start(String name, Map<String, String> env, int port) throws IOException;
    }

    private final CompareCommand compare;
    private final NettyTransport transport;
    private final CompareArgs args;
    private final ChildProcess sim;
    private final List<ChildProcess> children;
    private final PrintStream err;

    ReplicasRun(CompareCommand compare, NettyTransport transport, CompareArgs args, ChildProcess sim,
                List<ChildProcess> children, PrintStream err) {
        this.compare = compare;
        this.transport = transport;
        this.args = args;
        this.sim = sim;
        this.children = children;
        this.err = err;
    }

    /** A coordinator of this run, where it listens. */
    private record Replica(String name, Endpoint endpoint, ChildProcess process) {}

    /** The Markdown of the run: one table per shape of load, with Redis commands per call. */
    String run(Scenario scenario, List<Variant> variants, String secret, Starter starter)
            throws CompareFailure, IOException, InterruptedException {
        final String redisUrl = args.quotaRedis() != null ? args.quotaRedis() : CompareArgs.DEFAULT_REPLICAS_REDIS;
        try {
            RedisCommandCounts.read(redisUrl);
        } catch (IOException e) {
            throw new CompareFailure(scenario.name() + ": cannot read the command counts of the Redis at "
                    + redisUrl.replaceAll("//[^@/]*@", "//***@") + " (" + e.getMessage() + ")");
        }
        // A tenant of this run's own: its quota keys (cy:quota:<tenant>:...) are no other run's.
        final String tenant = "bench-replicas-" + UUID.randomUUID().toString().substring(0, 8);
        final String token = HmacJwt.mint(secret, "cy-bench", tenant, CompareCommand.TOKEN_LIFETIME);
        final Map<String, String> local = variants.stream().filter(v -> v.name().equals(CompareCommand.COORDINATOR_QUOTA))
                .findFirst().orElseThrow().env();
        final Map<String, String> shared = new LinkedHashMap<>(local);
        shared.put("CY_QUOTA_STORE", "redis");
        shared.put("CY_QUOTA_REDIS_URL", redisUrl);
        err.println();
        err.println("[" + scenario.name() + "] " + scenario.description() + "; Redis " + redisUrl.replaceAll(
                "//[^@/]*@", "//***@") + ", tenant " + tenant);
        final Replica alone = start(starter, LOCAL, local);
        final Replica first = start(starter, REPLICA_1, shared);
        final Replica second = start(starter, REPLICA_2, shared);

        final StringBuilder out = new StringBuilder();
        out.append("### ").append(scenario.name()).append(": ").append(scenario.description()).append("\n\n");
        out.append("- ").append(LOCAL).append(": one coordinator, auth and quotas on (every limit set, none reached),")
                .append(" quotas in its memory (quota.store: local)\n");
        out.append("- ").append(REPLICA_1).append(", ").append(REPLICA_2).append(": two coordinators with the same")
                .append(" settings but quota.store: redis on the same Redis, tenant ").append(tenant)
                .append(" (keys of this run's own); the load split over both at once; ").append(TOGETHER)
                .append(": both runs as one (calls/s added, latencies of all calls, CPU of both per call)\n");
        out.append("- Redis per call, divided by the calls started on both replicas during the pair's replicas")
                .append(" run: round trips, the scripts called (EVALSHA and EVAL in INFO commandstats: the quota")
                .append(" store sends nothing else per call), and commands (INFO stats total_commands_processed:")
                .append(" the scripts and the commands they run inside Redis); the whole server is counted, other")
                .append(" clients of that Redis too\n\n");
        final int total = scenario.concurrency();
        shape(out, scenario.withConcurrency(total, scenario.name() + " c" + total, total + " calls open in all ("
                        + total / 2 + " on each replica), 16 tokens, zero delay"),
                scenario.withConcurrency(total / 2, scenario.name(), ""), alone, first, second, token, redisUrl);
        shape(out, scenario.withConcurrency(1, scenario.name() + " c1", "one call at a time on each coordinator"
                        + " (two in all on the replicas), 16 tokens, zero delay"),
                scenario.withConcurrency(1, scenario.name(), ""), alone, first, second, token, redisUrl);
        return out.toString();
    }

    private Replica start(Starter starter, String name, Map<String, String> env)
            throws CompareFailure, IOException, InterruptedException {
        final int port = CompareCommand.freePort();
        err.println("starting the " + name + " coordinator on 127.0.0.1:" + port + "...");
        final ChildProcess process = starter.start(name.replace(' ', '-').replaceAll("[()]", ""), env, port);
        children.add(process);
        final Endpoint endpoint = Endpoint.tcp("127.0.0.1", port);
        compare.awaitCoordinator(transport, process, endpoint);
        return new Replica(name, endpoint, process);
    }

    /**
     * One shape of load: {@code whole} on the one coordinator, {@code each} on both replicas at
     * once; a warm-up of each, then the pairs.
     */
    private void shape(StringBuilder out, Scenario whole, Scenario each, Replica alone, Replica first, Replica second,
                       String token, String redisUrl) throws CompareFailure, InterruptedException {
        err.println("[" + whole.name() + "] " + whole.description() + ": " + whole.runs(args.pairs()));
        measure(whole, whole.warmupPlan(token), alone);
        both(each, each.warmupPlan(token), first, second);
        final ScenarioResult result = new ScenarioResult(whole);
        final List<Double> commands = new ArrayList<>();
        final List<Double> scripts = new ArrayList<>();
        for (int pair = 1; pair <= args.pairs(); pair++) {
            // In odd pairs the one coordinator runs first, in even ones the two (as ScenarioTurns.turnOrder).
            final boolean aloneFirst = pair % 2 == 1;
            final RunFigures oneBefore = aloneFirst ? measure(whole, whole.plan(token), alone) : null;
            final RedisCommandCounts before = counts(redisUrl);
            final RunFigures[] two = both(each, each.plan(token), first, second);
            final RedisCommandCounts used = before.until(counts(redisUrl));
            final RunFigures one = aloneFirst ? oneBefore : measure(whole, whole.plan(token), alone);
            result.add(LOCAL, one);
            final RunFigures together = together(two[0], two[1]);
            result.add(REPLICA_1, withoutSharedCpu(two[0]));
            result.add(REPLICA_2, withoutSharedCpu(two[1]));
            result.add(TOGETHER, together);
            final long calls = together.result().started();
            commands.add(calls == 0 ? Double.NaN : (double) used.total() / calls);
            scripts.add(calls == 0 ? Double.NaN : (double) used.scripts() / calls);
            err.println(String.format(Locale.ROOT, "[%s] pair %d/%d  local %.0f calls/s, replicas together %.0f"
                            + " calls/s (%.0f + %.0f), errors %d; Redis %.2f commands, %.2f scripts per call",
                    whole.name(), pair, args.pairs(), one.result().callsPerSecond(),
                    together.result().callsPerSecond(), two[0].result().callsPerSecond(),
                    two[1].result().callsPerSecond(), together.result().errorCount(), commands.get(pair - 1),
                    scripts.get(pair - 1)));
        }
        out.append(new Report(LOCAL, List.of(TOGETHER)).scenarioTable(result, args.pairs(), LOCAL, List.of(TOGETHER)));
        out.append(String.format(Locale.ROOT, "Redis per call on the replicas (median over %d pairs): %.2f round"
                + " trips (scripts); %.2f commands, those the scripts ran included%n%n", args.pairs(), median(scripts),
                median(commands)));
    }

    private RedisCommandCounts counts(String redisUrl) throws CompareFailure {
        try {
            return RedisCommandCounts.read(redisUrl);
        } catch (IOException e) {
            throw new CompareFailure("cannot read the Redis command counts: " + e.getMessage());
        }
    }

    private RunFigures measure(Scenario scenario, LoadPlan plan, Replica replica)
            throws CompareFailure, InterruptedException {
        return compare.measure(transport, scenario, plan, replica.name(), replica.endpoint(), replica.process(), sim);
    }

    /** {@code plan} on both replicas at once. */
    private RunFigures[] both(Scenario scenario, LoadPlan plan, Replica first, Replica second)
            throws CompareFailure, InterruptedException {
        final FutureTask<RunFigures> other = new FutureTask<>(() -> measure(scenario, plan, second));
        final Thread thread = new Thread(other, "cy-bench-" + REPLICA_2);
        thread.setDaemon(true);
        thread.start();
        final RunFigures mine = measure(scenario, plan, first);
        try {
            return new RunFigures[] {mine, other.get()};
        } catch (ExecutionException e) {
            throw e.getCause() instanceof CompareFailure failure ? failure
                    : new CompareFailure(REPLICA_2 + ": the load failed: " + e.getCause());
        }
    }

    /** The sim and the load generator served both replicas at once: their CPU is not one replica's. */
    private static RunFigures withoutSharedCpu(RunFigures run) {
        return new RunFigures(run.result(), run.proxyCpuNanos(), run.proxyJitCpuNanos(), run.proxyKernelCpuNanos(),
                -1, -1, -1);
    }

    /** Two runs made at the same time as one: calls and CPU added, latencies of every call. */
    static RunFigures together(RunFigures a, RunFigures b) {
        final LoadResult x = a.result();
        final LoadResult y = b.result();
        final TreeMap<String, Long> errors = new TreeMap<>(x.errors());
        y.errors().forEach((code, n) -> errors.merge(code, n, Long::sum));
        final LoadResult both = new LoadResult(x.started() + y.started(), x.succeeded() + y.succeeded(), errors,
                x.chunks() + y.chunks(), Math.max(x.elapsedNanos(), y.elapsedNanos()), added(x.ttfc(), y.ttfc()),
                added(x.gaps(), y.gaps()), added(x.callTimes(), y.callTimes()), x.lateStarts() + y.lateStarts(),
                x.firstError() != null ? x.firstError() : y.firstError());
        return new RunFigures(both, sum(a.proxyCpuNanos(), b.proxyCpuNanos()),
                sum(a.proxyJitCpuNanos(), b.proxyJitCpuNanos()),
                sum(a.proxyKernelCpuNanos(), b.proxyKernelCpuNanos()),
                Math.max(a.simCpuNanos(), b.simCpuNanos()), Math.max(a.databaseCpuNanos(), b.databaseCpuNanos()),
                Math.max(a.clientCpuNanos(), b.clientCpuNanos()));
    }

    private static Histogram added(Histogram a, Histogram b) {
        final Histogram sum = a.copy();
        sum.add(b);
        return sum;
    }

    private static long sum(long a, long b) {
        return a < 0 || b < 0 ? -1 : a + b;
    }

    static double median(List<Double> values) {
        final double[] sorted = values.stream().mapToDouble(Double::doubleValue).filter(v -> !Double.isNaN(v))
                .sorted().toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        final int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
