package io.cy.bench.compare;

import io.cy.bench.load.ClientChannels;
import io.cy.bench.load.HttpConnections;
import io.cy.bench.load.HttpTarget;
import io.cy.bench.load.LoadDriver;
import io.cy.bench.load.LoadGenerator;
import io.cy.bench.load.LoadPlan;
import io.cy.bench.load.LoadResult;
import io.cy.bench.load.SseLoadGenerator;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code cy-bench compare}: the same load, in the same run, straight to the sidecar and through
 * the coordinator (and through nginx as a plain proxy), in turns, so that the difference is the
 * coordinator and not the machine's mood. The sidecar, the coordinator and nginx run as child
 * processes, so each one's CPU time can be read from its own counters; the load generator runs
 * in this process.
 */
public final class CompareCommand {

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;

    static final String DIRECT = "direct";
    static final String NGINX = "nginx";
    static final String COORDINATOR = "coordinator";
    static final String COORDINATOR_AUTH = "coordinator+auth";
    static final String COORDINATOR_QUOTA = "coordinator+auth+quota";
    static final String COORDINATOR_AUDIT = "coordinator+auth+quota+audit";
    static final String COORDINATOR_QUOTA_REDIS = "coordinator+auth+quota(redis)";
    static final String COORDINATOR_LOG = "coordinator+all+log";
    static final String COORDINATOR_METRICS = "coordinator+all+metrics";
    /** The columns of the bridge scenario: the governed coordinator over gRPC, and over its HTTP bridge. */
    static final String GRPC = "grpc";
    static final String HTTP_SSE = "http-sse";
    static final Duration TOKEN_LIFETIME = Duration.ofDays(1);
    private static final Duration WARMUP_SATURATED = Duration.ofSeconds(6);
    private static final Duration WARMUP_SEQUENTIAL = Duration.ofSeconds(10);
    private static final Duration QUICK_WARMUP = Duration.ofSeconds(3);
    /**
     * The most warm-up per target and scenario: a minute, as the independent h2load runs had. A
     * scenario's calls take paths through a coordinator the warm-ups before it did not compile
     * (h2load's, a client of another kind with a connection per run; the bridge's; paced calls):
     * after a scenario's warm-up run a JVM target gets more of them until its JIT has settled
     * ({@link JitWarmUp}), as long as this allows.
     */
    private static final Duration WARMUP_LIMIT = Duration.ofSeconds(60);
    /** A smoke run's: its warm-up runs are a second or two, and its figures are not for publishing. */
    private static final Duration QUICK_WARMUP_LIMIT = Duration.ofSeconds(10);

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(15);
    private static final long POLL_MILLIS = 100;
    private static final String COORDINATOR_HEAP = "-Xmx512m";

    private final PrintStream out;
    private final PrintStream err;
    /** The audit database's CPU, when it runs on this machine; set when a comparison starts. */
    private DatabaseCpu databaseCpu = DatabaseCpu.forUrl(null);
    /** The most warm-up per target and scenario; set when a comparison starts. */
    private Duration warmUpLimit = WARMUP_LIMIT;
    /** perf, when it may count the proxies' system calls here; else none. */
    private SystemCalls systemCalls;
    private Path work;

    public CompareCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** A failure that stops the comparison; the message says what and where to look. */
    static final class CompareFailure extends Exception {
        CompareFailure(String message) {
            super(message);
        }
    }

    /** A coordinator column: its name, what is on, and the environment that turns it on. */
    record Variant(String name, String description, Map<String, String> env) {}

    /** Runs the comparison; returns the process exit status. */
    public int run(CompareArgs args) throws InterruptedException {
        final Path simJar = args.root().resolve("sim/target/cy-sim.jar");
        final Path coordinatorJar = args.root().resolve("coordinator/target/cy-coordinator.jar");
        for (Path jar : List.of(simJar, coordinatorJar)) {
            if (!Files.isRegularFile(jar)) {
                err.println("error: " + jar + " not found (build with 'mvn -DskipTests package', or run scripts/bench,"
                        + " which builds when needed)");
                return EXIT_FAILED;
            }
        }
        final Path work;
        try {
            work = Files.createTempDirectory("cy-bench-");
        } catch (IOException e) {
            err.println("error: cannot create a working directory: " + e.getMessage());
            return EXIT_FAILED;
        }
        final List<ChildProcess> children = Collections.synchronizedList(new ArrayList<>());
        final Thread stopOnExit = new Thread(() -> stopAll(children), "cy-bench-stop");
        Runtime.getRuntime().addShutdownHook(stopOnExit);
        final NettyTransport transport = NettyTransport.create(0, "cy-load");
        boolean failed = true;
        try {
            final String report = compare(args, work, simJar, coordinatorJar, children, transport);
            out.print(report);
            out.flush();
            if (args.out() != null) {
                Files.writeString(args.out(), report, StandardCharsets.UTF_8);
                err.println("report written to " + args.out());
            }
            failed = false;
            return EXIT_OK;
        } catch (CompareFailure e) {
            err.println("error: " + e.getMessage());
            return EXIT_FAILED;
        } catch (IOException e) {
            err.println("error: " + e.getMessage());
            return EXIT_FAILED;
        } finally {
            stopAll(children);
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException e) {
                // Already shutting down: the hook is running or has run.
            }
            transport.close();
            if (args.keep() || failed) {
                err.println("working directory (logs, nginx.conf): " + work);
            } else {
                deleteTree(work);
            }
        }
    }

    private String compare(CompareArgs args, Path work, Path simJar, Path coordinatorJar,
            List<ChildProcess> children, NettyTransport transport)
            throws CompareFailure, IOException, InterruptedException {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final Endpoint simEndpoint = Endpoint.unix(work.resolve("sim.sock"));
        final double loadAverage = MachineLoad.loadAverage();
        if (loadAverage > 1) {
            err.println(String.format(Locale.ROOT, "warning: the machine is already busy (load average %.1f);"
                    + " other work distorts every figure", loadAverage));
        }
        final MachineLoad.Ticks machineStart = MachineLoad.read();
        final long ownStart = ownCpuNanos();
        databaseCpu = DatabaseCpu.forUrl(args.auditDb());
        warmUpLimit = args.quick() ? QUICK_WARMUP_LIMIT : WARMUP_LIMIT;
        this.work = work;
        if (args.scenarios().stream().anyMatch(Scenario::oneAtATime)) {
            final SystemCalls.Probe probe = SystemCalls.find();
            systemCalls = probe.counter().orElse(null);
            if (systemCalls == null) {
                err.println("system calls not counted: " + probe.refusal());
            }
        }

        err.println("starting the simulated sidecar on " + simEndpoint + "...");
        final ChildProcess sim = ChildProcess.start("simulated sidecar",
                List.of(java.toString(), "-jar", simJar.toString(), "--listen", simEndpoint.toString()),
                Map.of(), work, work.resolve("sim.log"));
        children.add(sim);
        awaitHealthy(transport, sim, simEndpoint);

        // The replicas scenario starts coordinators of its own: alone, it needs none of the columns.
        final boolean columns = args.scenarios().stream().anyMatch(s -> s.kind() != Scenario.Kind.REPLICAS);
        final List<Target> targets = new ArrayList<>();
        targets.add(Target.direct(DIRECT, simEndpoint));
        String nginxVersion = null;
        final Optional<Path> nginx = args.nginx() && columns ? NginxProxy.find() : Optional.empty();
        if (nginx.isPresent()) {
            nginxVersion = NginxProxy.version(nginx.get());
            final int port = freePort();
            err.println("starting " + nginxVersion + " on 127.0.0.1:" + port + " (grpc_pass to the sim's socket)...");
            final ChildProcess proxy = NginxProxy.start(nginx.get(), work.resolve("nginx"), port,
                    simEndpoint.socketPath());
            children.add(proxy);
            final Endpoint endpoint = Endpoint.tcp("127.0.0.1", port);
            awaitHealthy(transport, proxy, endpoint);
            targets.add(Target.nativeProxy(NGINX, endpoint, proxy));
        } else if (columns) {
            err.println(args.nginx() ? "nginx is not installed: no nginx column (apt-get install nginx adds it)"
                    : "nginx left out (--no-nginx)");
        }
        // Every target gets the same calls, token included: only the coordinators with auth on check it.
        final String secret = HmacJwt.newSecret();
        final String token = HmacJwt.mint(secret, "cy-bench", "bench", TOKEN_LIFETIME);
        final boolean h2loadWanted = args.scenarios().stream().anyMatch(s -> s.kind() == Scenario.Kind.H2LOAD);
        final Optional<H2Load> h2load = h2loadWanted ? H2Load.find() : Optional.empty();
        List<Variant> variants = columns ? variants(args.accessLog(), args.metrics(), secret, args.auditDb(),
                args.quotaRedis(), work) : List.of();
        H2LoadSetup h2loadSetup = null;
        if (h2load.isPresent()) {
            h2loadSetup = startH2LoadSetup(java, simJar, work, children, transport);
            // h2load reads no gRPC status: the governed coordinator counts them on its admin listener.
            variants = withAdmin(variants, h2loadSetup.adminPort());
        } else if (h2loadWanted) {
            err.println("h2load is not installed: no h2load scenarios (apt-get install nghttp2-client adds them)");
        }
        final List<String> coordinators = variants.stream().map(Variant::name).toList();
        // The column held to the targets: the last one, with the most governance on.
        final Variant governed = variants.isEmpty() ? null : variants.get(variants.size() - 1);
        Target governedTarget = null;
        List<Target> bridgeTargets = List.of();
        Target bridge = null;
        for (Variant variant : variants) {
            final int[] ports = freePorts(2);
            final int port = ports[0];
            final int httpPort = ports[1];
            final boolean jfr = args.jfr() != null && variant == governed;
            err.println("starting the " + variant.name() + " (" + variant.description() + ") on 127.0.0.1:" + port + "...");
            final ChildProcess coordinator = startCoordinator(java, coordinatorJar, work, variant, port, httpPort,
                    simEndpoint, jfr ? args.jfr() : null);
            children.add(coordinator);
            final Endpoint endpoint = Endpoint.tcp("127.0.0.1", port);
            awaitHealthy(transport, coordinator, endpoint);
            final Target target = Target.jvm(variant.name(), endpoint, coordinator);
            targets.add(target);
            if (variant == governed) {
                governedTarget = target;
                bridge = target.overHttp(HTTP_SSE, HttpTarget.parse("http://127.0.0.1:" + httpPort));
                bridgeTargets = List.of(Target.jvm(GRPC, endpoint, coordinator), bridge);
            }
        }

        final List<Target> warmed = new ArrayList<>(targets);
        if (h2loadSetup != null) {
            // h2load's direct target is a JVM of its own: warmed as the others, or its JIT shows as the proxies' gain.
            warmed.add(1, Target.direct(DIRECT + " (TCP, for h2load)", h2loadSetup.sim().endpoint()));
        }
        if (bridge != null && args.scenarios().stream().anyMatch(s -> s.kind() == Scenario.Kind.BRIDGE)) {
            // The bridge's path (HTTP/1.1, JSON, server-sent events) is code no other scenario runs:
            // left to its own scenario's warm-up, C2 was still compiling it in the first pair.
            warmed.add(bridge);
        }
        if (!columns) {
            err.println("no columns to warm up: the replicas scenario warms up its own coordinators");
        } else if (args.quick()) {
            warmUp(transport, warmed, sim, token, QUICK_WARMUP, QUICK_WARMUP);
        } else {
            warmUp(transport, warmed, sim, token, WARMUP_SATURATED, WARMUP_SEQUENTIAL);
        }

        final List<ScenarioResult> loads = new ArrayList<>();
        final List<MemoryResult> memory = new ArrayList<>();
        final List<H2LoadScenarioResult> h2loads = new ArrayList<>();
        final List<String> replicaTables = new ArrayList<>();
        for (Scenario scenario : args.scenarios()) {
            switch (scenario.kind()) {
                case H2LOAD:
                    if (h2loadSetup != null) {
                        final List<Target> h2loadTargets = new ArrayList<>();
                        h2loadTargets.add(Target.direct(DIRECT, h2loadSetup.sim().endpoint()));
                        targets.stream().filter(t -> t.name().equals(NGINX)).forEach(h2loadTargets::add);
                        h2loadTargets.add(governedTarget);
                        h2loads.add(h2loadRuns(h2load.get(), h2loadSetup, transport, scenario, h2loadTargets, sim,
                                simEndpoint, args.pairs(), token, work));
                    }
                    break;
                case MEMORY:
                    memory.add(memoryRun(transport, scenario, governedTarget, sim, simEndpoint, token));
                    break;
                case REPLICAS:
                    replicaTables.add(new ReplicasRun(this, transport, args, sim, children, err).run(scenario,
                            variants(false, false, secret, null, null, work), secret,
                            (name, env, port) -> startCoordinator(java, coordinatorJar, work,
                                    new Variant(name, name, env), port, freePortOtherThan(port), simEndpoint, null)));
                    break;
                case BRIDGE:
                    loads.add(loadRuns(transport, scenario.withDescription(scenario.description() + ", through the "
                            + governed.name()), bridgeTargets, sim, args.pairs(), token));
                    break;
                default:
                    loads.add(loadRuns(transport, scenario, targets, sim, args.pairs(), token));
                    break;
            }
        }

        long ownCpu = ownCpuNanos() - ownStart;
        for (ChildProcess child : children) {
            ownCpu += Math.max(0, child.cpuNanos());
        }
        final String machineLoad = MachineLoad.describe(machineStart, MachineLoad.read(), ownCpu);

        final Report report = new Report(DIRECT, coordinators);
        final StringBuilder text = new StringBuilder();
        text.append(header(args, nginxVersion, variants, governed, machineLoad));
        for (ScenarioResult s : loads) {
            text.append(s.scenario().kind() == Scenario.Kind.BRIDGE
                    ? report.scenarioTable(s, args.pairs(), GRPC, List.of(HTTP_SSE))
                    : report.scenarioTable(s, args.pairs()));
        }
        for (H2LoadScenarioResult h : h2loads) {
            text.append(h.table(DIRECT, args.pairs()));
        }
        for (MemoryResult m : memory) {
            text.append(report.memoryTable(m));
        }
        replicaTables.forEach(text::append);
        if (governed != null) {
            final List<TargetChecks.Check> checks = new ArrayList<>(TargetChecks.evaluate(loads, memory, DIRECT,
                    governed.name(), nginx.isPresent() ? NGINX : null));
            for (H2LoadScenarioResult h : h2loads) {
                checks.addAll(h.checks(DIRECT, governed.name(), nginx.isPresent() ? NGINX : null));
            }
            text.append(report.targets(checks, governed.name()));
        }
        if (h2loadSetup != null) {
            text.insert(text.indexOf("- load generator:"), "- h2load: " + h2load.get().version() + ", direct to a"
                    + " second sim on 127.0.0.1 TCP (h2load speaks no Unix sockets), through nginx and the "
                    + governed.name() + " (which serves its metrics on an admin listener for this: its"
                    + " llmproxy_requests_total counts the statuses of h2load's calls; the sim's Health counters"
                    + " count them for direct and nginx); calls cut off when h2load's time is up are not errors\n");
        }
        return text.toString();
    }

    /**
     * The coordinator columns: plain forwarding, then each piece of governance added on top of
     * the one before, so the cost of each shows as the difference between neighbouring columns.
     * Quotas get limits far above any scenario's load: every call is reserved and settled, none
     * is refused. (Rates stay below one token per nanosecond, the most the token buckets take.)
     * The audit log writes to {@code auditDb} when given, else to its spool files only.
     *
     * @param work where the audit spool goes
     */
    static List<Variant> variants(boolean accessLog, String hmacSecret, String auditDb, Path work) {
        return variants(accessLog, false, hmacSecret, auditDb, work);
    }

    /** As above; with {@code metrics}, a last column with the metrics on as well (the others have them off). */
    static List<Variant> variants(boolean accessLog, boolean metrics, String hmacSecret, String auditDb, Path work) {
        return variants(accessLog, metrics, hmacSecret, auditDb, null, work);
    }

    /** As above; with {@code quotaRedis}, a column after the quota one with the quotas kept in that Redis. */
    static List<Variant> variants(boolean accessLog, boolean metrics, String hmacSecret, String auditDb,
                                  String quotaRedis, Path work) {
        final Map<String, String> plain = new LinkedHashMap<>();
        plain.put("CY_AUTH_MODE", "none");
        // No admin listener: no metrics, and no two coordinators wanting its one default port.
        plain.put("CY_ADMIN_ADDR", "");
        plain.put("CY_AUDIT_ENABLED", "false");
        plain.put("CY_LOG_ACCESS", "false");
        final Map<String, String> auth = new LinkedHashMap<>(plain);
        auth.put("CY_AUTH_MODE", "required");
        auth.put("CY_AUTH_HMAC_SECRET", hmacSecret);
        final Map<String, String> quota = new LinkedHashMap<>(auth);
        quota.put("CY_QUOTA_DEFAULT_REQUESTS_PER_MINUTE", "100000000");
        quota.put("CY_QUOTA_DEFAULT_CONCURRENT", "1000000");
        quota.put("CY_QUOTA_DEFAULT_TOKENS_PER_MINUTE", "1000000000");
        quota.put("CY_QUOTA_DEFAULT_TOKENS_PER_DAY", "1000000000000");
        final Map<String, String> audit = new LinkedHashMap<>(quota);
        audit.put("CY_AUDIT_ENABLED", "true");
        audit.put("CY_AUDIT_SPOOL_DIR", work.resolve("audit-spool").toString());
        if (auditDb != null) {
            audit.put("DB_URL", auditDb);
        }
        final List<Variant> variants = new ArrayList<>();
        variants.add(new Variant(COORDINATOR, "auth, quotas, audit and access log off", plain));
        variants.add(new Variant(COORDINATOR_AUTH, "auth on (HS256 JWT, verified once, then from the cache)", auth));
        variants.add(new Variant(COORDINATOR_QUOTA, "auth on, quotas on (every limit set, none reached)", quota));
        if (quotaRedis != null) {
            final Map<String, String> shared = new LinkedHashMap<>(quota);
            shared.put("CY_QUOTA_STORE", "redis");
            shared.put("CY_QUOTA_REDIS_URL", quotaRedis);
            variants.add(new Variant(COORDINATOR_QUOTA_REDIS, "auth on, quotas on and kept in Redis (quota.store: redis,"
                    + " one script run per admission and one per settlement)", shared));
        }
        variants.add(new Variant(COORDINATOR_AUDIT, "auth, quotas and the audit log on ("
                + (auditDb == null ? "no database given: events to the spool files" : "written to PostgreSQL") + ")",
                audit));
        if (accessLog) {
            final Map<String, String> withLog = new LinkedHashMap<>(audit);
            withLog.put("CY_LOG_ACCESS", "true");
            // Both audited coordinators run at once, and a spool directory takes one audit log.
            withLog.put("CY_AUDIT_SPOOL_DIR", work.resolve("audit-spool-" + COORDINATOR_LOG).toString());
            variants.add(new Variant(COORDINATOR_LOG, "all of that and the access log (to a file)", withLog));
        }
        if (metrics) {
            final Map<String, String> withMetrics = new LinkedHashMap<>(audit);
            // Recorded on every call and served on a port of the system's choosing; nothing scrapes it.
            withMetrics.put("CY_ADMIN_ADDR", "127.0.0.1:0");
            withMetrics.put("CY_AUDIT_SPOOL_DIR", work.resolve("audit-spool-" + COORDINATOR_METRICS).toString());
            variants.add(new Variant(COORDINATOR_METRICS, "auth, quotas, the audit log and the Prometheus metrics on",
                    withMetrics));
        }
        return List.copyOf(variants);
    }

    private ChildProcess startCoordinator(Path java, Path jar, Path work, Variant variant, int port, int httpPort,
            Endpoint sidecar, Path jfr) throws IOException {
        // Compiler threads that HotSpot retires when idle would take their CPU time with them,
        // and the JIT row of the table would come out short.
        final List<String> command = new ArrayList<>(List.of(java.toString(), COORDINATOR_HEAP,
                "-XX:-UseDynamicNumberOfCompilerThreads"));
        if (jfr != null) {
            command.add("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile,dumponexit=true");
        }
        command.addAll(List.of("-jar", jar.toString()));
        final Map<String, String> env = new LinkedHashMap<>();
        // Settings from the caller's environment that would change what is measured.
        for (String name : List.of("WORKER_UDS_PATHS", "WORKER_UDS_PATH", "COORDINATOR_UDS_PATH", "COORDINATOR_CONFIG",
                "OAUTH2_ISSUER", "OAUTH2_AUDIENCE", "GATEWAY_API_TOKEN", "CY_AUTH_HMAC_SECRET", "CY_LLM_INTERNAL_TOKEN",
                "COORDINATOR_HTTP_ADDR", "DB_URL", "CY_AUDIT_EMBEDDED_DATABASE_DIR")) {
            env.put(name, null);
        }
        env.put("SIDECAR_GRPC_ADDR", sidecar.toString());
        env.put("COORDINATOR_GRPC_ADDR", "127.0.0.1:" + port);
        // Its HTTP bridge on a port of its own: several coordinators run at once.
        env.put("COORDINATOR_HTTP_ADDR", "127.0.0.1:" + httpPort);
        // Nothing is open when the comparison stops it; no need to wait the default 30 s.
        env.put("CY_SHUTDOWN_GRACE", "2s");
        env.putAll(variant.env());
        return ChildProcess.start(variant.name(), command, env, work, work.resolve(variant.name() + ".log"));
    }

    /** The second sim, on TCP for h2load, and the admin port of the governed coordinator. */
    private record H2LoadSetup(ChildProcess simProcess, Target sim, int adminPort) {}

    private H2LoadSetup startH2LoadSetup(Path java, Path simJar, Path work, List<ChildProcess> children,
            NettyTransport transport) throws IOException, CompareFailure, InterruptedException {
        final Endpoint endpoint = Endpoint.tcp("127.0.0.1", freePort());
        err.println("starting a second simulated sidecar on " + endpoint + " (h2load's direct target)...");
        final ChildProcess tcpSim = ChildProcess.start("simulated sidecar (TCP)",
                List.of(java.toString(), "-jar", simJar.toString(), "--listen", endpoint.toString()),
                Map.of(), work, work.resolve("sim-tcp.log"));
        children.add(tcpSim);
        awaitHealthy(transport, tcpSim, endpoint);
        return new H2LoadSetup(tcpSim, Target.direct(DIRECT, endpoint), freePort());
    }

    /** The variants, the last (governed) one with its admin listener on {@code adminPort}. */
    private static List<Variant> withAdmin(List<Variant> variants, int adminPort) {
        final List<Variant> out = new ArrayList<>(variants);
        final Variant governed = out.get(out.size() - 1);
        final Map<String, String> env = new LinkedHashMap<>(governed.env());
        env.put("CY_ADMIN_ADDR", "127.0.0.1:" + adminPort);
        out.set(out.size() - 1, new Variant(governed.name(), governed.description() + "; admin listener on, for"
                + " h2load's statuses", env));
        return List.copyOf(out);
    }

    /** What is read on either side of an h2load run: CPU times in nanoseconds (-1 when not read), statuses. */
    private record H2LoadReadings(long proxyCpu, long proxyJitCpu, long proxyKernelCpu, long simCpu,
            long databaseCpu, Map<String, Long> statuses) {}

    /** Where the statuses of a target's calls are counted: its sim, or the coordinator itself. */
    @FunctionalInterface
    private interface StatusReader {
        Map<String, Long> read() throws InterruptedException;
    }

    /** The CPU times of {@code target}'s proxy, its sim and the audit database, then the statuses counted. */
    private H2LoadReadings h2loadReadings(Target target, ChildProcess sim, StatusReader statuses)
            throws InterruptedException {
        final boolean direct = target.proxy() == null;
        return new H2LoadReadings(direct ? -1 : target.proxy().cpuNanos(), direct ? -1 : target.proxy().jitCpuNanos(),
                direct ? -1 : target.proxy().kernelCpuNanos(), sim.cpuNanos(), databaseCpu.cpuNanos(), statuses.read());
    }

    /** As {@link #loadRuns}, with h2load as the load generator ({@link H2LoadTurns}). */
    private H2LoadScenarioResult h2loadRuns(H2Load h2load, H2LoadSetup setup, NettyTransport transport,
            Scenario scenario, List<Target> targets, ChildProcess sim, Endpoint simEndpoint, int pairs, String token,
            Path work) throws CompareFailure, IOException, InterruptedException {
        final Path body = H2Load.writeRequest(work.resolve("h2load-request.bin"), scenario.streamRequest());
        final StatusCounts coordinatorStatuses = new StatusCounts(setup.adminPort());
        return new H2LoadTurns((target, connections, streams, length, log) -> {
            final boolean direct = target.proxy() == null;
            final ChildProcess targetSim = direct ? setup.simProcess() : sim;
            final Endpoint targetSimEndpoint = direct ? setup.sim().endpoint() : simEndpoint;
            // The calls of direct and nginx are counted by the sim that ended them, the coordinator's by itself.
            final StatusReader statuses = direct || target.name().equals(NGINX)
                    ? () -> simStatuses(transport, targetSimEndpoint) : coordinatorStatuses::read;
            final H2LoadReadings before = h2loadReadings(target, targetSim, statuses);
            final H2LoadResult run = h2load.run(connections, streams, length, body, token, target.endpoint().port(),
                    work.resolve(log + ".log"));
            final H2LoadReadings after = h2loadReadings(target, targetSim, statuses);
            for (ChildProcess process : direct ? List.of(targetSim) : List.of(targetSim, target.proxy())) {
                if (!process.isAlive()) {
                    throw new CompareFailure(process.describeExit());
                }
            }
            return new H2LoadRun(run, delta(before.proxyCpu(), after.proxyCpu()),
                    delta(before.proxyJitCpu(), after.proxyJitCpu()),
                    delta(before.proxyKernelCpu(), after.proxyKernelCpu()), delta(before.simCpu(), after.simCpu()),
                    delta(before.databaseCpu(), after.databaseCpu()),
                    H2LoadRun.difference(before.statuses(), after.statuses()));
        }, warmUpLimit, err).run(scenario, targets, pairs);
    }

    /** The sim's own counts of the calls it ended, by outcome: what checks the calls of direct and nginx. */
    private static Map<String, Long> simStatuses(NettyTransport transport, Endpoint sim) {
        try (ClientChannels channels = ClientChannels.open(transport, sim, 1)) {
            final WorkerHealthResponse health = AiInferenceGrpc.newBlockingStub(channels.channels().get(0))
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .health(WorkerHealthRequest.getDefaultInstance());
            final Map<String, Long> counts = new LinkedHashMap<>();
            counts.put(H2LoadRun.OK, Long.parseLong(health.getMetricsOrDefault("requests_success", "0")));
            counts.put("FAILED", Long.parseLong(health.getMetricsOrDefault("requests_failed", "0")));
            counts.put(H2LoadRun.CANCELLED, Long.parseLong(health.getMetricsOrDefault("requests_cancelled", "0")));
            return counts;
        } catch (StatusRuntimeException | NumberFormatException e) {
            return null;
        }
    }

    /**
     * Load against every target before anything is measured, in both shapes the coordinator's
     * code sees: saturated (many streams, messages batched) and one call at a time (every
     * message on its own). The JIT compilers of all the JVMs (sim, coordinators, this one) do
     * most of their work here; without the second phase they recompile for it during the
     * first scenario and charge it to that scenario's CPU per call.
     */
    private void warmUp(NettyTransport transport, List<Target> targets, ChildProcess sim, String token,
            Duration saturated, Duration sequential) throws CompareFailure, InterruptedException {
        final Scenario many = new Scenario("warm-up", "closed loop, 64 concurrent, zero delay", Scenario.Kind.LOAD,
                64, 0, saturated, saturated, 16, 0, 0, Scenario.PROMPT_BYTES);
        final Scenario one = new Scenario("warm-up", "closed loop, one at a time, zero delay", Scenario.Kind.LOAD,
                1, 0, sequential, sequential, 16, 0, 0, Scenario.PROMPT_BYTES);
        for (Target target : targets) {
            err.println("[warm-up] " + target.name() + " (" + saturated.toSeconds() + " s at 64 concurrent, "
                    + sequential.toSeconds() + " s one at a time)");
            measure(transport, many, many.warmupPlan(token), target, sim);
            measure(transport, one, one.warmupPlan(token), target, sim);
        }
    }

    /** Warm-up against every target, then the pairs ({@link ScenarioTurns}). */
    private ScenarioResult loadRuns(NettyTransport transport, Scenario scenario, List<Target> targets,
            ChildProcess sim, int pairs, String token) throws CompareFailure, InterruptedException {
        return new ScenarioTurns((target, concurrency, channels) -> connect(transport, target, concurrency, channels),
                (connections, plan, target) -> measure(connections, plan, target, sim),
                systemCalls == null ? null : (connections, plan, target) -> countSystemCalls(connections, plan, target,
                        sim), warmUpLimit, err)
                .run(scenario, targets, pairs, token);
    }

    /**
     * One run of {@code plan} with perf counting the system calls of {@code target}'s processes
     * from before its first call to after its last, divided by its calls; null, with a note, when
     * perf could not count them (a count is not worth the rest of the run).
     */
    private SystemCalls.PerCall countSystemCalls(Connected connections, LoadPlan plan, Target target,
            ChildProcess sim) throws CompareFailure, InterruptedException {
        final Path log = work.resolve("perf-" + target.name().replaceAll("[^A-Za-z0-9]+", "-") + ".log");
        final SystemCalls.Counting counting;
        try {
            counting = systemCalls.start(target.proxy().pids(), log);
        } catch (IOException e) {
            err.println("perf stat could not start for " + target.name() + ": " + e.getMessage());
            return null;
        }
        try {
            counting.enable();
        } catch (IOException e) {
            counting.abandon();
            err.println("perf stat did not start counting for " + target.name() + ": " + e.getMessage());
            return null;
        }
        final RunFigures run;
        try {
            run = measure(connections, plan, target, sim);
        } catch (CompareFailure | InterruptedException | RuntimeException e) {
            counting.abandon();
            throw e;
        }
        try {
            return new SystemCalls.PerCall(target.name(), run.result().started(), counting.finish());
        } catch (IOException e) {
            err.println("perf stat counted nothing for " + target.name() + ": " + e.getMessage());
            return null;
        }
    }

    /** One run of {@code plan} against the coordinator {@code process} on {@code endpoint}, its CPU read. */
    RunFigures measure(NettyTransport transport, Scenario scenario, LoadPlan plan, String name, Endpoint endpoint,
            ChildProcess process, ChildProcess sim) throws CompareFailure, InterruptedException {
        return measure(transport, scenario, plan, Target.jvm(name, endpoint, process), sim);
    }

    /** Waits until the coordinator {@code process} answers Health on {@code endpoint} with a sidecar in rotation. */
    void awaitCoordinator(NettyTransport transport, ChildProcess process, Endpoint endpoint)
            throws CompareFailure, InterruptedException {
        awaitHealthy(transport, process, endpoint);
    }

    private RunFigures measure(NettyTransport transport, Scenario scenario, LoadPlan plan, Target target,
            ChildProcess sim) throws CompareFailure, InterruptedException {
        try (Connected connections = connect(transport, target, plan.concurrency(), scenario.channels())) {
            return measure(connections, plan, target, sim);
        }
    }

    /**
     * Connections to {@code target}, none opened yet: HTTP/1.1 gets one per call in progress, up
     * to {@code concurrency}; gRPC its {@code channels}, each a connection of its own.
     */
    private static Connected connect(NettyTransport transport, Target target, int concurrency, int channels) {
        if (target.http() != null) {
            final HttpConnections connections = HttpConnections.open(transport, target.http(), concurrency);
            return new Connected(new SseLoadGenerator(connections), connections::close);
        }
        final ClientChannels connections = ClientChannels.open(transport, target.endpoint(), channels);
        return new Connected(new LoadGenerator(connections.channels()), connections::close);
    }

    private RunFigures measure(Connected connections, LoadPlan plan, Target target, ChildProcess sim)
            throws CompareFailure, InterruptedException {
        final LoadDriver generator = connections.driver();
        final String notReady = generator.awaitReady(READY_TIMEOUT, plan.token());
        if (notReady != null) {
            throw new CompareFailure(target.name() + " (" + target.where() + "): " + notReady
                    + (target.proxy() == null ? "" : "\n" + target.proxy().describeExit()));
        }
        final long proxyBefore = target.proxy() == null ? -1 : target.proxy().cpuNanos();
        final long jitBefore = target.proxy() == null ? -1 : target.proxy().jitCpuNanos();
        final long kernelBefore = target.proxy() == null ? -1 : target.proxy().kernelCpuNanos();
        final long simBefore = sim.cpuNanos();
        final long dbBefore = databaseCpu.cpuNanos();
        final long clientBefore = ownCpuNanos();
        final LoadResult result = generator.run(plan);
        final long proxyAfter = target.proxy() == null ? -1 : target.proxy().cpuNanos();
        final long jitAfter = target.proxy() == null ? -1 : target.proxy().jitCpuNanos();
        final long kernelAfter = target.proxy() == null ? -1 : target.proxy().kernelCpuNanos();
        final long simAfter = sim.cpuNanos();
        final long dbAfter = databaseCpu.cpuNanos();
        final long clientAfter = ownCpuNanos();
        for (ChildProcess process : target.proxy() == null ? List.of(sim) : List.of(sim, target.proxy())) {
            if (!process.isAlive()) {
                throw new CompareFailure(process.describeExit());
            }
        }
        return new RunFigures(result, delta(proxyBefore, proxyAfter), delta(jitBefore, jitAfter),
                delta(kernelBefore, kernelAfter), delta(simBefore, simAfter), delta(dbBefore, dbAfter),
                delta(clientBefore, clientAfter));
    }

    /**
     * Opens {@code concurrency} streams through the coordinator against a sim that holds each one
     * before its first chunk, waits until the sim has them all open, and reads the coordinator's
     * memory then, against a reading just before. Every stream then completes normally.
     */
    private MemoryResult memoryRun(NettyTransport transport, Scenario scenario, Target target, ChildProcess sim,
            Endpoint simEndpoint, String token) throws CompareFailure, InterruptedException {
        final String name = target.name();
        final ChildProcess coordinator = target.proxy();
        err.println();
        err.println("[" + scenario.name() + "] " + scenario.description() + " (" + scenario.runs(1) + ")");
        final JvmMemory jvm = JvmMemory.ofCurrentJdk();
        if (!jvm.available()) {
            err.println("[" + scenario.name() + "] no jcmd in this JDK: RSS only, no heap figures");
        }
        final int streams = scenario.concurrency();
        try (ClientChannels channels = ClientChannels.open(transport, target.endpoint(), scenario.channels())) {
            final LoadGenerator generator = new LoadGenerator(channels.channels());
            final String notReady = generator.awaitReady(READY_TIMEOUT, token);
            if (notReady != null) {
                throw new CompareFailure(name + ": " + notReady + "\n" + coordinator.describeExit());
            }
            final JvmMemory.Reading before = jvm.measure(coordinator.pid());
            err.println("[" + scenario.name() + "] before: " + describe(before) + "; opening " + streams + " streams");
            final FutureTask<LoadResult> load = new FutureTask<>(() -> generator.run(scenario.memoryPlan(token)));
            final Thread loader = new Thread(load, "cy-bench-memory-load");
            loader.setDaemon(true);
            final long start = System.nanoTime();
            loader.start();
            // Leave a few seconds of the hold for the measurement itself.
            final long giveUp = start + scenario.duration().toNanos() - TimeUnit.SECONDS.toNanos(4);
            int opened = 0;
            long openedAt = start;
            try (ClientChannels probe = ClientChannels.open(transport, simEndpoint, 1)) {
                while (opened < streams && System.nanoTime() < giveUp && !load.isDone()) {
                    final int now = inflight(probe.channels().get(0), "requests_inflight");
                    if (now > opened) {
                        opened = now;
                        openedAt = System.nanoTime();
                    }
                    if (opened < streams) {
                        Thread.sleep(POLL_MILLIS);
                    }
                }
            }
            final double secondsToOpen = (openedAt - start) / 1e9;
            err.println(String.format(Locale.ROOT, "[%s] %,d of %,d streams open after %.1f s; measuring",
                    scenario.name(), opened, streams, secondsToOpen));
            final JvmMemory.Reading during = jvm.measure(coordinator.pid());
            err.println("[" + scenario.name() + "] while open: " + describe(during) + "; waiting for the streams to end");
            final LoadResult result;
            try {
                result = load.get();
            } catch (ExecutionException e) {
                throw new CompareFailure(scenario.name() + ": the load failed: " + e.getCause());
            }
            if (!coordinator.isAlive()) {
                throw new CompareFailure(coordinator.describeExit());
            }
            err.println("[" + scenario.name() + "] done: " + result.succeeded() + " ok, " + result.errorCount()
                    + " errors" + (result.firstError() == null ? "" : " (first: " + result.firstError() + ")"));
            return new MemoryResult(scenario, name, opened, secondsToOpen, before, during, result);
        } catch (IOException e) {
            throw new CompareFailure(scenario.name() + ": cannot read the coordinator's memory: " + e.getMessage());
        }
    }

    /** A Health metric of a count, e.g. the sim's requests_inflight; 0 when unreadable. */
    private static int inflight(ManagedChannel channel, String metric) {
        try {
            final WorkerHealthResponse health = AiInferenceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .health(WorkerHealthRequest.getDefaultInstance());
            return Integer.parseInt(health.getMetricsOrDefault(metric, "0"));
        } catch (StatusRuntimeException | NumberFormatException e) {
            return 0;
        }
    }

    /** Waits until the process answers Health with healthy=true (the coordinator: a sidecar is in rotation). */
    private void awaitHealthy(NettyTransport transport, ChildProcess process, Endpoint endpoint)
            throws CompareFailure, InterruptedException {
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer yet";
        try (ClientChannels channels = ClientChannels.open(transport, endpoint, 1)) {
            while (true) {
                if (!process.isAlive()) {
                    throw new CompareFailure(process.describeExit());
                }
                try {
                    final WorkerHealthResponse health = AiInferenceGrpc.newBlockingStub(channels.channels().get(0))
                            .withDeadlineAfter(2, TimeUnit.SECONDS)
                            .health(WorkerHealthRequest.getDefaultInstance());
                    if (health.getHealthy()) {
                        return;
                    }
                    last = "healthy=false " + health.getMetricsMap();
                } catch (StatusRuntimeException e) {
                    last = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
                }
                if (System.nanoTime() > deadline) {
                    throw new CompareFailure("the " + process.name() + " did not become healthy on " + endpoint
                            + " within " + START_TIMEOUT.toSeconds() + " s (" + last + ")\n" + process.describeExit());
                }
                Thread.sleep(POLL_MILLIS);
            }
        }
    }

    private String header(CompareArgs args, String nginxVersion, List<Variant> variants, Variant governed,
            String machineLoad) {
        final StringBuilder out = new StringBuilder();
        out.append("## cy-bench compare").append(args.quick() ? " --quick (smoke run, not for publishing)" : "")
                .append(", ").append(LocalDate.now()).append("\n\n");
        out.append("- machine: ").append(Machine.describe()).append('\n');
        out.append("- during the run: ").append(machineLoad).append('\n');
        out.append("- ").append(DIRECT).append(": the simulated sidecar (cy-sim) on a Unix socket\n");
        final boolean columns = args.scenarios().stream().anyMatch(s -> s.kind() != Scenario.Kind.REPLICAS);
        out.append("- ").append(NGINX).append(": ").append(!columns ? "not run (no scenario of this run uses it)"
                : nginxVersion == null ? "not installed, column skipped"
                : nginxVersion + ", grpc_pass to the same socket, upstream connections kept alive").append('\n');
        for (Variant v : variants) {
            out.append("- ").append(v.name()).append(": cy-coordinator (").append(COORDINATOR_HEAP).append(") forwarding")
                    .append(" to the same socket; ").append(v.description()).append('\n');
        }
        if (args.scenarios().stream().anyMatch(s -> s.kind() == Scenario.Kind.BRIDGE)) {
            out.append("- ").append(GRPC).append(", ").append(HTTP_SSE).append(" (bridge scenario): the ")
                    .append(governed.name()).append(" over gRPC, and over its HTTP bridge (POST /v1/chat/completions,")
                    .append(" stream: true, answered with server-sent events; the bridge runs inside the coordinator")
                    .append(" and calls it in-process, so its CPU is counted in the coordinator's);")
                    .append(" ratio and difference to ").append(GRPC).append('\n');
        }
        out.append("- load generator: grpc-java in the comparing JVM, to nginx and the coordinators over TCP on")
                .append(" 127.0.0.1; over HTTP, a Netty HTTP/1.1 client on the same event loops, one keep-alive")
                .append(" connection per call in progress; every call carries the same bearer token; every gRPC")
                .append(" call a metadata.trace_id of its own, as the gateway's do; all processes share the")
                .append(" machine's cores; in a load scenario each target keeps the connections its warm-up opened")
                .append(" until the scenario ends, as a gateway keeps its channels\n");
        if (databaseCpu.measured()) {
            out.append("- audit database: PostgreSQL on this machine, on the same cores; its CPU per call is the")
                    .append(" CPU time of all its processes over each run (every target's, so the runs that write")
                    .append(" nothing show its background work)\n");
        }
        out.append("- each target runs in turn, in reverse order in every second pair (").append(args.pairs())
                .append(" pairs, after one warm-up run each (two under h2load, which connects anew for every run),")
                .append(" more of at most ").append(JitWarmUp.SETTLING_RUN.toSeconds())
                .append(" s for a JVM until its JIT compilers take at most ")
                .append(Math.round(JitWarmUp.SETTLED_SHARE * 100)).append(" % of its CPU over ")
                .append(JitWarmUp.SETTLED_RUNS).append(" runs in a row after the first, for at most ")
                .append(warmUpLimit.toSeconds()).append(" s in all);")
                .append(" figures are medians over the pairs; ratio and difference to direct are taken within")
                .append(" each pair, then the median; CPU per call is read from each process's own counters\n\n");
        return out.toString();
    }

    private static String describe(JvmMemory.Reading reading) {
        return String.format(Locale.ROOT, "heap used %s, RSS %s", mib(reading.heapUsedBytes()), mib(reading.rssBytes()));
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }

    private static long ownCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    private static long delta(long before, long after) {
        return before < 0 || after < 0 ? -1 : after - before;
    }

    /** A TCP port free right now on the loopback interface. */
    static int freePort() throws IOException {
        return freePorts(1)[0];
    }

    /** A free port that is not {@code taken}, a port chosen for the same process but not yet bound. */
    static int freePortOtherThan(int taken) throws IOException {
        int port = freePort();
        while (port == taken) {
            port = freePort();
        }
        return port;
    }

    /**
     * {@code count} ports free on the loopback address, all different: held open together while
     * they are chosen, since a port closed a moment ago may be the system's next pick.
     */
    static int[] freePorts(int count) throws IOException {
        final ServerSocket[] sockets = new ServerSocket[count];
        try {
            final int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                if (socket != null) {
                    socket.close();
                }
            }
        }
    }

    /** Coordinators first, so no stream they hold is cut by the sidecar going away. */
    private static void stopAll(List<ChildProcess> children) {
        synchronized (children) {
            for (int i = children.size() - 1; i >= 0; i--) {
                children.get(i).stop(STOP_GRACE);
            }
        }
    }

    private void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            err.println("warning: cannot remove " + dir + ": " + e.getMessage());
        }
    }
}
