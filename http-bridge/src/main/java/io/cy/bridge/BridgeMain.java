package io.cy.bridge;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the HTTP bridge on its own, in front of a remote coordinator, until SIGTERM or SIGINT. */
public final class BridgeMain {

    static final int EXIT_USAGE = 2;
    static final String DEFAULT_COORDINATOR = "localhost:50050";
    /** Time open requests get on SIGTERM before they are cut off. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(30);

    static final String USAGE = String.join("\n",
            "usage: cy-http-bridge [options]",
            "",
            "OpenAI-compatible HTTP API (POST /v1/chat/completions, /v1/completions, GET /v1/models)",
            "in front of a coordinator's AiInference service.",
            "",
            "  --listen ADDR             host:port or unix:///abs/path (default $" + BridgeConfig.LISTEN_ENV + ", else "
                    + BridgeConfig.DEFAULT_LISTEN + ")",
            "  --coordinator ADDR        the coordinator's gRPC address, host:port or unix:///abs/path",
            "                            (default " + DEFAULT_COORDINATOR + ")",
            "  --template MODEL=NAME     chat template of a model: plain, chatml or llama3 (repeatable)",
            "  --default-template NAME   template of other models (default plain)",
            "  --models A,B              what GET /v1/models lists (default: ask the coordinator, Control list_models)",
            "  --max-body-bytes N        largest request body (default " + BridgeConfig.DEFAULT_MAX_BODY_BYTES + ")",
            "  --deadline DURATION       deadline of each upstream call, e.g. 120s or 500ms (default: none)",
            "  --idle-timeout DURATION   close connections idle this long (default "
                    + BridgeConfig.DEFAULT_IDLE_TIMEOUT.toSeconds() + "s)",
            "  --no-ready-check          /readyz does not ask the coordinator's Health",
            "  --help                    this text",
            "");

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    private BridgeMain() {}

    public static void main(String[] args) throws InterruptedException {
        NettyTransport.disableLeakDetectionUnlessAsked();
        if (Arrays.asList(args).contains("--help")) {
            System.out.print(USAGE);
            return;
        }
        final Settings settings;
        try {
            settings = parse(args, System.getenv());
        } catch (UsageException e) {
            System.err.println("cy-http-bridge: " + e.getMessage());
            System.err.println("Run with --help for usage.");
            System.exit(EXIT_USAGE);
            return;
        }
        bridgeJulToSlf4j();
        final Logger log = LoggerFactory.getLogger(BridgeMain.class);

        final NettyTransport transport = NettyTransport.create(0, "cy-http");
        final NettyChannelBuilder channelBuilder = transport.channelBuilder(settings.coordinator());
        if (settings.coordinator().isUnix()) {
            channelBuilder.overrideAuthority("localhost"); // a socket path is not a valid authority
        }
        final ManagedChannel channel = channelBuilder.build();
        final HttpBridge bridge;
        try {
            bridge = HttpBridge.start(settings.config(), channel, transport);
        } catch (IOException | RuntimeException e) {
            log.error("{}", e.getMessage(), e);
            channel.shutdownNow();
            transport.close();
            System.exit(1);
            return;
        }
        log.info("forwarding to the coordinator at {}", settings.coordinator());

        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            bridge.shutdown(SHUTDOWN_GRACE);
            channel.shutdown();
            try {
                if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                    channel.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                channel.shutdownNow();
            }
            transport.close();
            stopped.countDown();
        }, "cy-http-shutdown"));
        // The event-loop threads are daemons: this thread keeps the JVM up until a signal.
        stopped.await();
    }

    /** What the command line (and {@value BridgeConfig#LISTEN_ENV}) asks for. */
    record Settings(BridgeConfig config, Endpoint coordinator) {}

    static Settings parse(String[] args, Map<String, String> env) throws UsageException {
        BridgeConfig config;
        try {
            config = BridgeConfig.fromEnvironment(env);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Endpoint coordinator = Endpoint.parse(DEFAULT_COORDINATOR);
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
            if (flag.equals("--no-ready-check")) {
                if (value != null) {
                    throw new UsageException("--no-ready-check: takes no value");
                }
                config = config.withReadyCheck(false);
                continue;
            }
            if (!List.of("--listen", "--coordinator", "--template", "--default-template", "--models",
                    "--max-body-bytes", "--deadline", "--idle-timeout").contains(flag)) {
                throw new UsageException((arg.startsWith("-") ? "unknown flag: " : "unexpected argument: ") + arg);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(flag + ": missing value");
                }
                value = args[++i];
            }
            try {
                switch (flag) {
                    case "--listen":
                        config = config.withListen(Endpoint.parse(value));
                        break;
                    case "--coordinator":
                        coordinator = Endpoint.parse(value);
                        break;
                    case "--template":
                        config = template(config, value);
                        break;
                    case "--default-template":
                        config = config.withDefaultTemplate(value);
                        break;
                    case "--models":
                        config = config.withModels(models(value));
                        break;
                    case "--max-body-bytes":
                        config = config.withMaxBodyBytes(integer(value));
                        break;
                    case "--deadline":
                        config = config.withUpstreamDeadline(duration(value));
                        break;
                    case "--idle-timeout":
                        config = config.withIdleTimeout(duration(value));
                        break;
                    default:
                        throw new AssertionError(flag);
                }
            } catch (IllegalArgumentException e) {
                throw new UsageException(flag + ": " + e.getMessage());
            }
        }
        return new Settings(config, coordinator);
    }

    private static BridgeConfig template(BridgeConfig config, String value) {
        final int eq = value.indexOf('=');
        if (eq <= 0 || eq == value.length() - 1) {
            throw new IllegalArgumentException(value + " (expected: MODEL=NAME, e.g. qwen=chatml)");
        }
        return config.withTemplate(value.substring(0, eq), value.substring(eq + 1));
    }

    private static List<String> models(String value) {
        final List<String> models = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            if (part.isBlank()) {
                throw new IllegalArgumentException("'" + value + "' (expected: comma-separated model ids, none empty)");
            }
            models.add(part.trim());
        }
        return models;
    }

    private static int integer(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(value + " (expected: an integer)");
        }
    }

    /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}. */
    static Duration duration(String value) {
        final Matcher m = DURATION.matcher(value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(value + " (expected: a duration like 500ms, 30s, 2m or 1h)");
        }
        final long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(value + " (expected: a duration like 500ms, 30s, 2m or 1h)");
        }
        switch (m.group(2)) {
            case "ms":
                return Duration.ofMillis(n);
            case "s":
                return Duration.ofSeconds(n);
            case "m":
                return Duration.ofMinutes(n);
            default:
                return Duration.ofHours(n);
        }
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

        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
