package io.cy.bench.compare;

import io.cy.bench.Flags;
import io.cy.bench.UsageException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The settings of one {@code compare}, parsed from its flags.
 *
 * @param root the checkout whose jars are run (sim/target/cy-sim.jar, coordinator/target/cy-coordinator.jar)
 * @param scenarios the scenarios to run, in order
 * @param nginx whether to add the nginx column when nginx is installed
 * @param accessLog whether to add a coordinator column with the access log on
 * @param metrics whether to add a coordinator column with the metrics on
 * @param out where to write the Markdown report as well; null for stdout only
 * @param jfr where the (last) coordinator writes a Flight Recording; null for none
 * @param keep keep the working directory (logs, sockets, nginx.conf) afterwards
 * @param auditDb the PostgreSQL the audited coordinator writes to; null: its spool files only
 * @param quotaRedis with it, a column with the quotas kept in this Redis ({@code quota.store: redis}); null: none
 */
public record CompareArgs(
        Path root,
        boolean quick,
        List<Scenario> scenarios,
        int pairs,
        boolean nginx,
        boolean accessLog,
        boolean metrics,
        Path out,
        Path jfr,
        boolean keep,
        String auditDb,
        String quotaRedis) {

    static final int DEFAULT_PAIRS = 3;
    static final int QUICK_PAIRS = 2;
    /** The Redis of the replicas2 scenario when --quota-redis names none. */
    static final String DEFAULT_REPLICAS_REDIS = "redis://127.0.0.1:6379/15";
    /** {@code --audit-db none}: no database even where {@code DB_URL} names one. */
    static final String NO_DATABASE = "none";

    private static final Set<String> VALUED = Set.of("--root", "--scenario", "--pairs", "--warmup-s", "--out", "--jfr",
            "--audit-db", "--quota-redis");
    private static final Set<String> SWITCHES = Set.of("--quick", "--no-nginx", "--access-log", "--metrics", "--keep");

    public static final String USAGE = String.join("\n",
            "usage: cy-bench compare [options]",
            "",
            "Starts a simulated sidecar on a Unix socket, the coordinator in front of it with its governance",
            "added piece by piece (none; auth; quotas; audit), and nginx with grpc_pass to the same socket",
            "if installed; then runs each scenario's load in turns: direct to the sidecar, through nginx,",
            "through each coordinator, again and again. Prints one Markdown table per scenario (medians over",
            "the pairs, and coordinator/direct within each pair), the open-streams memory run, and the",
            "targets met or missed. The sse scenario runs the most governed coordinator over gRPC and over",
            "its HTTP bridge with server-sent events instead, and compares the bridge with gRPC. The h2c1 and",
            "h2c64 scenarios, when h2load is installed (apt-get install nghttp2-client), run h2load -c 1 -m 1",
            "and -c 4 -m 16 direct to a second sim on TCP, through nginx and the most governed coordinator.",
            "Progress goes to stderr.",
            "",
            "  --quick             a smoke run of about a minute: short runs, " + QUICK_PAIRS + " pairs, 2,000 streams",
            "  --scenario NAME     run only these scenarios; repeatable or comma-separated",
            "                      full: " + names(Scenario.full()),
            "                      quick: " + names(Scenario.quick()),
            "                      only when named: replicas2 (two coordinators sharing quotas in the Redis of",
            "                      --quota-redis, default " + DEFAULT_REPLICAS_REDIS + ", the load split",
            "                      over both, against one with local quotas; Redis commands per call)",
            "  --pairs N           runs per target (default " + DEFAULT_PAIRS + ", quick " + QUICK_PAIRS + ")",
            "  --warmup-s N        warm every target up for at least N seconds before each scenario's pairs",
            "                      (default: each scenario's own, 3-30 s); on a slow or busy machine the JIT",
            "                      compilers of the JVMs may need longer, and their CPU is charged to the calls",
            "  --no-nginx          leave nginx out even if installed",
            "  --audit-db URL      the PostgreSQL the audited coordinator writes to (default: $DB_URL); 'none':",
            "                      no database, the audit log spools to files in the working directory",
            "  --quota-redis URL   add a coordinator column with auth and quotas kept in this Redis",
            "                      (quota.store: redis), e.g. redis://127.0.0.1:6379/15: what sharing quotas costs",
            "  --access-log        add a coordinator column with the access log on as well (CY_LOG_ACCESS=true)",
            "  --metrics           add a coordinator column with the Prometheus metrics on as well (CY_ADMIN_ADDR)",
            "  --out FILE          also write the report to FILE",
            "  --jfr FILE          record the coordinator with JDK Flight Recorder into FILE",
            "  --keep              keep the working directory (logs, nginx.conf) and print where it is",
            "  --root DIR          the checkout whose jars to run (default: the current directory)",
            "  --help              this text",
            "");

    public CompareArgs {
        scenarios = List.copyOf(scenarios);
    }

    public static CompareArgs parse(List<String> args) throws UsageException {
        return parse(args, System.getenv());
    }

    /** Parses the flags; {@code env} supplies the default of {@code --audit-db} ({@code DB_URL}). */
    static CompareArgs parse(List<String> args, Map<String, String> env) throws UsageException {
        Path root = Path.of("").toAbsolutePath();
        boolean quick = false;
        final List<String> names = new ArrayList<>();
        int pairs = 0;
        int warmupS = 0;
        boolean nginx = true;
        boolean accessLog = false;
        boolean metrics = false;
        Path out = null;
        Path jfr = null;
        boolean keep = false;
        final String dbUrl = env.get("DB_URL");
        String auditDb = dbUrl == null || dbUrl.isBlank() ? null : dbUrl;
        String quotaRedis = null;
        for (Flags.Flag flag : Flags.parse(args, VALUED, SWITCHES)) {
            final String value = flag.value();
            switch (flag.name()) {
                case "--root":
                    root = Path.of(value).toAbsolutePath();
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--scenario":
                    for (String name : value.split(",")) {
                        if (!name.isBlank()) {
                            names.add(name.trim());
                        }
                    }
                    break;
                case "--pairs":
                    pairs = Flags.inRange(flag.name(), value, 1, 100);
                    break;
                case "--warmup-s":
                    warmupS = Flags.inRange(flag.name(), value, 1, 600);
                    break;
                case "--no-nginx":
                    nginx = false;
                    break;
                case "--access-log":
                    accessLog = true;
                    break;
                case "--metrics":
                    metrics = true;
                    break;
                case "--out":
                    out = Path.of(value).toAbsolutePath();
                    break;
                case "--jfr":
                    jfr = Path.of(value).toAbsolutePath();
                    break;
                case "--keep":
                    keep = true;
                    break;
                case "--audit-db":
                    auditDb = value.isBlank() || value.equals(NO_DATABASE) ? null : value;
                    break;
                case "--quota-redis":
                    quotaRedis = value.isBlank() ? null : value;
                    break;
                default:
                    throw new IllegalStateException(flag.name());
            }
        }
        final List<Scenario> available = quick ? Scenario.quick() : Scenario.full();
        final List<Scenario> scenarios = new ArrayList<>();
        if (names.isEmpty()) {
            scenarios.addAll(available);
        }
        final List<Scenario> named = new ArrayList<>(available);
        named.addAll(Scenario.onRequest(quick));
        for (String name : names) {
            final Scenario scenario = named.stream().filter(s -> s.name().equals(name)).findFirst()
                    .orElseThrow(() -> new UsageException("--scenario: " + name + " (expected: one of "
                            + names(named) + (available.equals(Scenario.quick()) ? " with --quick" : "") + ")"));
            if (!scenarios.contains(scenario)) {
                scenarios.add(scenario);
            }
        }
        if (warmupS > 0) {
            final Duration least = Duration.ofSeconds(warmupS);
            scenarios.replaceAll(s -> s.withWarmupAtLeast(least));
        }
        if (pairs == 0) {
            pairs = quick ? QUICK_PAIRS : DEFAULT_PAIRS;
        }
        return new CompareArgs(root, quick, scenarios, pairs, nginx, accessLog, metrics, out, jfr, keep, auditDb,
                quotaRedis);
    }

    private static String names(List<Scenario> scenarios) {
        return scenarios.stream().map(Scenario::name).collect(Collectors.joining(", "));
    }
}
