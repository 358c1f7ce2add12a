package io.cy.bench.routing;

import io.cy.bench.Flags;
import io.cy.bench.UsageException;
import io.cy.coordinator.sidecar.Balance;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarRouters;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/**
 * {@code routing}: runs the same workload of shared system prompts through least_inflight and
 * prefix_affinity and prints, for each, how often a prompt reached a sidecar that had seen it.
 */
public final class RoutingCommand {

    public static final String USAGE = String.join("\n",
            "usage: cy-bench routing [--calls N] [--system-prompts N] [--sidecars N] [--concurrency N]",
            "                        [--cached-prompts N] [--balance-threshold N] [--affinity-prefix-bytes N] [--seed N]",
            "  --calls                  calls routed (default: 20000)",
            "  --system-prompts         distinct shared system prompts, 600-1,500 bytes each (default: 50)",
            "  --sidecars               sidecars of the backend (default: 4)",
            "  --concurrency            calls open at a time, on average (default: 32)",
            "  --cached-prompts         prefixes a worker's KV cache holds, for the cache hit rate (default: 16)",
            "  --balance-threshold      balance_threshold (default: " + BalanceSettings.DEFAULT_BALANCE_THRESHOLD + ")",
            "  --affinity-prefix-bytes  affinity_prefix_bytes (default: "
                    + BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES + ")",
            "  --seed                   the workload's random seed (default: 1)",
            "In memory, no sockets: calls in flight are simulated, one call arriving per tick.",
            "");

    private static final Set<String> VALUED = Set.of("--calls", "--system-prompts", "--sidecars", "--concurrency",
            "--cached-prompts", "--balance-threshold", "--affinity-prefix-bytes", "--seed");

    /** The parsed options. */
    record Options(PrefixReuse.Workload workload, int sidecars, int threshold, int prefixBytes) {}

    private RoutingCommand() {}

    public static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(USAGE);
            return 0;
        }
        final Options options;
        try {
            options = parse(args);
        } catch (UsageException e) {
            err.println("routing: " + e.getMessage());
            err.println("Run 'cy-bench routing --help' for usage.");
            return 2;
        }
        final PrefixReuse.Workload w = options.workload();
        out.printf("%d calls, %d system prompts, %d sidecars, about %d in flight, balance_threshold %d,"
                        + " affinity_prefix_bytes %d, KV cache of %d prefixes per sidecar, seed %d%n",
                w.calls(), w.systemPrompts(), options.sidecars(), w.concurrency(), options.threshold(),
                options.prefixBytes(), w.cachedPrompts(), w.seed());
        out.printf("%-16s %8s %12s %15s %12s%n", "balance", "reuse", "cache hits", "busiest share", "max inflight");
        for (Balance balance : List.of(Balance.LEAST_INFLIGHT, Balance.PREFIX_AFFINITY)) {
            final PrefixReuse.Result result = measure(options, balance);
            out.printf("%-16s %7.1f%% %11.1f%% %14.1f%% %12d%n", balance.configName(), 100 * result.reuseRate(),
                    100 * result.cacheHitRate(), 100 * result.busiestShare(), result.maxInflight());
        }
        return 0;
    }

    static PrefixReuse.Result measure(Options options, Balance balance) {
        try (IdleSidecars fixtures = new IdleSidecars()) {
            final List<Sidecar> sidecars = fixtures.make(options.sidecars());
            return PrefixReuse.run(options.workload(),
                    SidecarRouters.create(new BalanceSettings(balance, options.prefixBytes(), options.threshold())),
                    sidecars);
        }
    }

    static Options parse(List<String> args) throws UsageException {
        int calls = 20_000;
        int systemPrompts = 50;
        int sidecars = 4;
        int concurrency = 32;
        int cachedPrompts = 16;
        int threshold = BalanceSettings.DEFAULT_BALANCE_THRESHOLD;
        int prefixBytes = BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES;
        long seed = 1;
        for (Flags.Flag flag : Flags.parse(args, VALUED, Set.of())) {
            switch (flag.name()) {
                case "--calls" -> calls = Flags.inRange(flag.name(), flag.value(), 1, 10_000_000);
                case "--system-prompts" -> systemPrompts = Flags.inRange(flag.name(), flag.value(), 1, 100_000);
                case "--sidecars" -> sidecars = Flags.inRange(flag.name(), flag.value(), 1, 1_000);
                case "--concurrency" -> concurrency = Flags.inRange(flag.name(), flag.value(), 1, 100_000);
                case "--cached-prompts" -> cachedPrompts = Flags.inRange(flag.name(), flag.value(), 1, 100_000);
                case "--balance-threshold" -> threshold = Flags.inRange(flag.name(), flag.value(), 0, 1_000_000);
                case "--affinity-prefix-bytes" -> prefixBytes = Flags.inRange(flag.name(), flag.value(), 1, 1 << 20);
                default -> seed = Flags.atLeast(flag.name(), flag.value(), 0);
            }
        }
        return new Options(new PrefixReuse.Workload(calls, systemPrompts, concurrency, cachedPrompts, seed),
                sidecars, threshold, prefixBytes);
    }
}
