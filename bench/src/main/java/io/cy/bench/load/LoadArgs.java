package io.cy.bench.load;

import io.cy.bench.Flags;
import io.cy.bench.UsageException;
import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The settings of one {@code load} command, parsed from its flags.
 *
 * @param http with {@code --http}: the OpenAI-compatible HTTP API the load goes to instead of
 *     {@code target}; null for gRPC
 * @param tlsCa with {@code --tls-ca}: gRPC over TLS, trusting this CA bundle; null for plaintext
 */
public record LoadArgs(
        Endpoint target,
        HttpTarget http,
        int concurrency,
        long calls,
        int durationS,
        double rate,
        int maxNewTokens,
        int promptBytes,
        String model,
        String token,
        int simTtftMs,
        int simGapMs,
        Map<String, String> extra,
        int channels,
        int threads,
        int warmupS,
        int drainS,
        boolean json,
        Path tlsCa) {

    static final String DEFAULT_TARGET = "localhost:50050";
    static final int DEFAULT_CONCURRENCY = 64;
    static final int DEFAULT_OUTSTANDING = 1000;
    /** Streams per channel (HTTP/2 connection) when --channels is not given. */
    static final int STREAMS_PER_CHANNEL = 1000;
    static final int MAX_CHANNELS = 64;

    private static final Set<String> VALUED = Set.of("--target", "--http", "--concurrency", "--calls", "--duration-s",
            "--rate", "--max-new-tokens", "--prompt-bytes", "--model", "--token", "--sim-ttft-ms", "--sim-gap-ms",
            "--extra", "--channels", "--threads", "--warmup-s", "--drain-s", "--tls-ca");
    private static final Set<String> SWITCHES = Set.of("--json");

    public static final String USAGE = String.join("\n",
            "usage: cy-bench load [options]",
            "",
            "Runs StreamPredict load against one target (the coordinator, a sidecar or a proxy): every call",
            "sends one request, with a metadata.trace_id of its own as the gateway's calls have, and",
            "half-closes; every response stream is checked (indexes 0..n-1 in order, exactly n chunks, a",
            "final end_of_stream message with index n and an empty chunk).",
            "With --http, the same load as streamed chat completions (POST /v1/chat/completions, stream: true)",
            "against an OpenAI-compatible HTTP API such as the coordinator's bridge, one HTTP/1.1 connection",
            "per call in progress; every event stream is checked (exactly n chunks with delta.content, one",
            "chunk with finish_reason, then data: [DONE]); errors are counted by HTTP status (http_401, ...).",
            "Exit status: 0 when every call succeeded, 1 when any failed, 2 on bad arguments.",
            "",
            "  --target ADDR          host:port, unix:///abs/path or /abs/path (default " + DEFAULT_TARGET + ")",
            "  --http URL             load an HTTP API instead, e.g. http://127.0.0.1:8080 (the coordinator's",
            "                         COORDINATOR_HTTP_ADDR); model, tokens, token and --sim-*/--extra go into",
            "                         the request (--extra as OpenAI's metadata)",
            "  --concurrency N        closed loop: calls open at once (default 64); open loop: most calls",
            "                         outstanding, later ones wait and are charged for it (default 1000)",
            "  --rate R               open loop: start R calls per second on a fixed schedule, latency",
            "                         measured from each call's scheduled start (default 0: closed loop)",
            "  --calls N              most calls to start (default 1000000)",
            "  --duration-s N         no call starts after N seconds (default 10)",
            "  --max-new-tokens N     generation.max_new_tokens, and the chunks every stream must have (default 16)",
            "  --prompt-bytes N       prompt size in bytes (default 64)",
            "  --model ID             model_id (default sim)",
            "  --token T              send 'authorization: Bearer T'",
            "  --sim-ttft-ms N        ask a simulated sidecar for N ms before the first chunk (metadata.extra",
            "                         sim.ttft_ms; default 0: not sent)",
            "  --sim-gap-ms N         ... and N ms between chunks (sim.gap_ms)",
            "  --extra K=V            any metadata.extra entry; repeatable",
            "  --channels N           client connections, calls spread round-robin (default: one per "
                    + STREAMS_PER_CHANNEL + " concurrent;",
            "                         not with --http)",
            "  --threads N            client event-loop threads (default: one per core)",
            "  --warmup-s N           run the same load N seconds first, unreported (default 0)",
            "  --drain-s N            how long calls may run past the duration before they are cancelled",
            "                         and counted as 'unfinished' (default 30)",
            "  --tls-ca FILE          gRPC over TLS (ALPN h2) to --target, trusting the CA bundle in FILE",
            "                         (PEM), e.g. the ca.pem of scripts/make-dev-certs; not with --http",
            "  --json                 print the result as one JSON object (times in microseconds)",
            "  --help                 this text",
            "");

    public LoadArgs {
        extra = Map.copyOf(extra);
    }

    /** Parses the flags after {@code load}. */
    public static LoadArgs parse(List<String> args) throws UsageException {
        Endpoint target = Endpoint.parse(DEFAULT_TARGET);
        boolean targetGiven = false;
        HttpTarget http = null;
        int concurrency = 0;
        long calls = 1_000_000;
        int durationS = 10;
        double rate = 0;
        int maxNewTokens = 16;
        int promptBytes = 64;
        String model = "sim";
        String token = null;
        int simTtftMs = 0;
        int simGapMs = 0;
        final Map<String, String> extra = new LinkedHashMap<>();
        int channels = 0;
        int threads = 0;
        int warmupS = 0;
        int drainS = 30;
        boolean json = false;
        Path tlsCa = null;
        for (Flags.Flag flag : Flags.parse(args, VALUED, SWITCHES)) {
            final String name = flag.name();
            final String value = flag.value();
            switch (name) {
                case "--target":
                    try {
                        target = Endpoint.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--target: " + e.getMessage());
                    }
                    targetGiven = true;
                    break;
                case "--http":
                    try {
                        http = HttpTarget.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--http: " + e.getMessage());
                    }
                    break;
                case "--concurrency":
                    concurrency = Flags.inRange(name, value, 1, 1_000_000);
                    break;
                case "--calls":
                    calls = Flags.atLeast(name, value, 1);
                    break;
                case "--duration-s":
                    durationS = Flags.inRange(name, value, 1, 86_400);
                    break;
                case "--rate":
                    rate = Flags.number(name, value, 0);
                    break;
                case "--max-new-tokens":
                    maxNewTokens = Flags.inRange(name, value, 1, Integer.MAX_VALUE - 1);
                    break;
                case "--prompt-bytes":
                    promptBytes = Flags.inRange(name, value, 1, 64 << 20);
                    break;
                case "--model":
                    model = value;
                    break;
                case "--token":
                    if (value.isEmpty()) {
                        throw new UsageException("--token: empty (expected: a token)");
                    }
                    token = value;
                    break;
                case "--sim-ttft-ms":
                    simTtftMs = Flags.inRange(name, value, 0, Integer.MAX_VALUE);
                    break;
                case "--sim-gap-ms":
                    simGapMs = Flags.inRange(name, value, 0, Integer.MAX_VALUE);
                    break;
                case "--extra":
                    final int eq = value.indexOf('=');
                    if (eq <= 0) {
                        throw new UsageException("--extra: " + value + " (expected: key=value)");
                    }
                    extra.put(value.substring(0, eq), value.substring(eq + 1));
                    break;
                case "--channels":
                    channels = Flags.inRange(name, value, 1, MAX_CHANNELS);
                    break;
                case "--threads":
                    threads = Flags.inRange(name, value, 1, 256);
                    break;
                case "--warmup-s":
                    warmupS = Flags.inRange(name, value, 0, 3600);
                    break;
                case "--drain-s":
                    drainS = Flags.inRange(name, value, 0, 3600);
                    break;
                case "--json":
                    json = true;
                    break;
                case "--tls-ca":
                    tlsCa = Path.of(value);
                    if (!Files.isReadable(tlsCa)) {
                        throw new UsageException("--tls-ca: " + value + ": not a readable file");
                    }
                    break;
                default:
                    throw new IllegalStateException(name);
            }
        }
        if (http != null && targetGiven) {
            throw new UsageException("--http: not with --target (one target per run)");
        }
        if (http != null && tlsCa != null) {
            throw new UsageException("--tls-ca: not with --http (give an https:// URL's CA to the HTTP client instead)");
        }
        if (http != null && channels != 0) {
            throw new UsageException("--channels: not with --http (HTTP/1.1 has one connection per call in progress)");
        }
        if (concurrency == 0) {
            concurrency = rate > 0 ? DEFAULT_OUTSTANDING : DEFAULT_CONCURRENCY;
        }
        if (channels == 0) {
            channels = defaultChannels(concurrency);
        }
        return new LoadArgs(target, http, concurrency, calls, durationS, rate, maxNewTokens, promptBytes, model, token,
                simTtftMs, simGapMs, extra, channels, threads, warmupS, drainS, json, tlsCa);
    }

    /** One channel per {@value #STREAMS_PER_CHANNEL} concurrent calls, at least one. */
    public static int defaultChannels(int concurrency) {
        return Math.min(MAX_CHANNELS, Math.max(1, (concurrency + STREAMS_PER_CHANNEL - 1) / STREAMS_PER_CHANNEL));
    }

    /** The plan these flags describe. */
    public LoadPlan plan() {
        final Map<String, String> metadata = new LinkedHashMap<>(LoadPlan.simPacing(simTtftMs, simGapMs));
        metadata.putAll(extra);
        return new LoadPlan(concurrency, calls, Duration.ofSeconds(durationS), rate,
                LoadPlan.request(model, promptBytes, maxNewTokens, metadata), maxNewTokens, token,
                Duration.ofSeconds(drainS));
    }
}
