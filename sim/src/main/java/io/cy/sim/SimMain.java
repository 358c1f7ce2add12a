package io.cy.sim;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.StatusException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs a simulated sidecar from the command line until SIGTERM or SIGINT. */
public final class SimMain {

    static final int EXIT_USAGE = 2;
    static final String DEFAULT_LISTEN = "unix:///tmp/cy_sidecar.sock";
    static final String TOKEN_ENV = "CY_LLM_INTERNAL_TOKEN";

    static final String USAGE = String.join("\n",
            "usage: cy-sim [options]",
            "",
            "A simulated inference sidecar serving cy.llm.AiInference like the real worker.",
            "",
            "  --listen ADDR                 unix:///abs/path, /abs/path or host:port (default " + DEFAULT_LISTEN + ")",
            "  --ttft-ms N                   delay before the first chunk (default 0)",
            "  --gap-ms N                    delay between chunks (default 0)",
            "  --models A,B                  served model ids; unknown ids get NOT_FOUND (default: any)",
            "  --adapters A,B                LoRA adapters list_models says are loaded (payload adapters; default: none)",
            "  --internal-token T            require 'authorization: Bearer T' (default: $" + TOKEN_ENV + ",",
            "                                empty or unset means no auth)",
            "  --fail CODE                   fail every call with this status, e.g. RESOURCE_EXHAUSTED",
            "  --fail-after N                ... after N chunks (default 0: before the first)",
            "  --stall-after N               go silent after N chunks until the client cancels",
            "  --refuse                      accept and immediately close every connection",
            "  --max-new-tokens-default N    chunks when a request's max_new_tokens is 0 (default 16)",
            "  --chunk-bytes N               pad every chunk to N characters (default 0: plain words)",
            "  --threads N                   event-loop and timer threads (default 2)",
            "  --tls-cert FILE, --tls-key FILE  serve TLS (ALPN h2) on a TCP --listen with this certificate and",
            "                                PKCS#8 key (PEM), e.g. scripts/make-dev-certs' server.pem and server.key",
            "  --help                        this text",
            "",
            "A request can override failures and delays per call with metadata.extra keys",
            "sim.fail, sim.fail_after, sim.stall_after, sim.ttft_ms, sim.gap_ms, sim.chunk_bytes.",
            "");

    private SimMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        NettyTransport.disableLeakDetectionUnlessAsked();
        if (Arrays.asList(args).contains("--help")) {
            System.out.print(USAGE);
            return;
        }
        final SimConfig config;
        try {
            config = parse(args, System.getenv());
        } catch (UsageException e) {
            System.err.println("cy-sim: " + e.getMessage());
            System.err.println("Run with --help for usage.");
            System.exit(EXIT_USAGE);
            return;
        }
        bridgeJulToSlf4j();
        final Logger log = LoggerFactory.getLogger(SimMain.class);
        final SimulatedSidecar sidecar;
        try {
            sidecar = SimulatedSidecar.start(config);
        } catch (IOException e) {
            log.error("{}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        // Before the line that says it listens: a SIGTERM right after that line must still close
        // the server and remove its socket file.
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            sidecar.close();
            log.info("simulated sidecar on {} stopped", sidecar.target());
            stopped.countDown();
        }, "cy-sim-shutdown"));
        log.info("simulated sidecar listening on {} (models: {}, ttft {} ms, gap {} ms, auth {}{}{}{})",
                sidecar.target(),
                config.models().isEmpty() ? "any" : String.join(",", config.models()),
                config.timeToFirstToken().toMillis(),
                config.tokenGap().toMillis(),
                config.internalToken() == null ? "off" : "on",
                config.failStatus() == null ? "" : ", fail " + config.failStatus() + " after " + config.failAfter(),
                config.stallAfter() < 0 ? "" : ", stall after " + config.stallAfter(),
                config.refuseConnections() ? ", refusing connections" : "");

        // The Netty and timer threads are daemons: this thread keeps the JVM up until a signal.
        stopped.await();
    }

    /** Turns the arguments (and the environment, for the token) into settings. */
    static SimConfig parse(String[] args, Map<String, String> env) throws UsageException {
        final SimConfig.Builder b = SimConfig.builder().listen(DEFAULT_LISTEN);
        final String envToken = env.get(TOKEN_ENV);
        b.internalToken(envToken == null || envToken.isEmpty() ? null : envToken);
        boolean failSet = false;
        String failAfter = null;
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            final String flag;
            String value = null;
            final int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                flag = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else {
                flag = arg;
            }
            switch (flag) {
                case "--refuse":
                    if (value != null) {
                        throw new UsageException("--refuse: takes no value");
                    }
                    b.refuseConnections(true);
                    continue;
                case "--listen":
                case "--ttft-ms":
                case "--gap-ms":
                case "--models":
                case "--adapters":
                case "--internal-token":
                case "--fail":
                case "--fail-after":
                case "--stall-after":
                case "--max-new-tokens-default":
                case "--chunk-bytes":
                case "--threads":
                case "--tls-cert":
                case "--tls-key":
                    break;
                default:
                    throw new UsageException(
                            (arg.startsWith("-") ? "unknown flag: " : "unexpected argument: ") + arg);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(flag + ": missing value (expected: " + expected(flag) + ")");
                }
                value = args[++i];
            }
            apply(b, flag, value);
            if (flag.equals("--fail")) {
                failSet = true;
            } else if (flag.equals("--fail-after")) {
                failAfter = value;
            }
        }
        if (failAfter != null && !failSet) {
            throw new UsageException("--fail-after: " + failAfter + " (expected: together with --fail)");
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException("invalid settings: " + e.getMessage());
        }
    }

    private static void apply(SimConfig.Builder b, String flag, String value) throws UsageException {
        switch (flag) {
            case "--listen":
                try {
                    b.listen(Endpoint.parse(value).toString());
                } catch (IllegalArgumentException e) {
                    throw new UsageException(flag + ": " + e.getMessage());
                }
                break;
            case "--ttft-ms":
                b.timeToFirstToken(Duration.ofMillis(nonNegative(flag, value)));
                break;
            case "--gap-ms":
                b.tokenGap(Duration.ofMillis(nonNegative(flag, value)));
                break;
            case "--models":
                b.models(models(flag, value));
                break;
            case "--adapters":
                b.adapters(models(flag, value));
                break;
            case "--internal-token":
                b.internalToken(value.isEmpty() ? null : value);
                break;
            case "--fail":
                try {
                    b.failStatus(CallPlan.parseFailCode(flag, value));
                } catch (StatusException e) {
                    throw new UsageException(e.getStatus().getDescription());
                }
                break;
            case "--fail-after":
                b.failAfter(nonNegative(flag, value));
                break;
            case "--stall-after":
                b.stallAfter(nonNegative(flag, value));
                break;
            case "--max-new-tokens-default":
                b.defaultMaxNewTokens(positive(flag, value));
                break;
            case "--chunk-bytes":
                b.chunkBytes(nonNegative(flag, value));
                break;
            case "--threads":
                b.threads(positive(flag, value));
                break;
            case "--tls-cert":
                b.tlsCert(java.nio.file.Path.of(value));
                break;
            case "--tls-key":
                b.tlsKey(java.nio.file.Path.of(value));
                break;
            default:
                throw new AssertionError(flag);
        }
    }

    private static String expected(String flag) {
        switch (flag) {
            case "--listen":
                return "unix:///abs/path, /abs/path or host:port";
            case "--tls-cert":
            case "--tls-key":
                return "a PEM file";
            case "--models":
                return "comma-separated model ids";
            case "--adapters":
                return "comma-separated adapter names";
            case "--internal-token":
                return "a token";
            case "--fail":
                return "a gRPC status code name, e.g. NOT_FOUND";
            case "--max-new-tokens-default":
            case "--threads":
                return "an integer > 0";
            default:
                return "an integer >= 0";
        }
    }

    private static int nonNegative(String flag, String value) throws UsageException {
        final int n = integer(flag, value);
        if (n < 0) {
            throw new UsageException(flag + ": " + value + " (expected: an integer >= 0)");
        }
        return n;
    }

    private static int positive(String flag, String value) throws UsageException {
        final int n = integer(flag, value);
        if (n <= 0) {
            throw new UsageException(flag + ": " + value + " (expected: an integer > 0)");
        }
        return n;
    }

    private static int integer(String flag, String value) throws UsageException {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + ": " + value + " (expected: " + expected(flag) + ")");
        }
    }

    private static List<String> models(String flag, String value) throws UsageException {
        final List<String> models = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            final String model = part.trim();
            if (model.isEmpty()) {
                throw new UsageException(flag + ": '" + value + "' (expected: " + expected(flag) + ", none empty)");
            }
            models.add(model);
        }
        return models;
    }

    /** gRPC logs through java.util.logging; route it to logback so logback.xml governs its level. */
    private static void bridgeJulToSlf4j() {
        try {
            org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
            org.slf4j.bridge.SLF4JBridgeHandler.install();
        } catch (NoClassDefFoundError e) {
            // jul-to-slf4j is optional; without it gRPC keeps logging to stderr.
        }
    }

    /** A bad command line; the message names the flag and the expected form. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
