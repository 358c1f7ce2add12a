package io.cy.bench;

import io.cy.bench.compare.CompareArgs;
import io.cy.bench.compare.CompareCommand;
import io.cy.bench.load.LoadArgs;
import io.cy.bench.load.LoadCommand;
import io.cy.bench.routing.RoutingCommand;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code cy-bench <command> [options]}: dispatches to the command named first. */
public final class BenchMain {

    static final int EXIT_USAGE = 2;

    static final String USAGE = String.join("\n",
            "usage: cy-bench <command> [options]",
            "",
            "commands:",
            "  call     make one AiInference call (stream, health or control) and print the answer",
            "  load     run StreamPredict load against one target and report throughput and latencies",
            "  compare  start a simulated sidecar and the coordinator, run the same load direct and",
            "           through the coordinator (and nginx, if installed) in turns, print one table",
            "  token    mint an HS256 JWT with the coordinator's shared secret (demos, scripts, tests)",
            "  routing  route a workload of shared system prompts in memory with least_inflight and",
            "           prefix_affinity, print how often prompts reached a sidecar that had seen them",
            "",
            "Run 'cy-bench <command> --help' for the options of a command.",
            "");

    private BenchMain() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the process exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return EXIT_USAGE;
        }
        final List<String> rest = Arrays.asList(args).subList(1, args.length);
        switch (args[0]) {
            case "call":
                return call(rest, out, err);
            case "load":
                return load(rest, out, err);
            case "compare":
                return compare(rest, out, err);
            case "token":
                return TokenCommand.run(rest, System.getenv(), out, err);
            case "routing":
                return RoutingCommand.run(rest, out, err);
            case "-h":
            case "--help":
            case "help":
                out.print(USAGE);
                return 0;
            default:
                err.println("cy-bench: unknown command: " + args[0]);
                err.print(USAGE);
                return EXIT_USAGE;
        }
    }

    static int load(List<String> args, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(LoadArgs.USAGE);
            return 0;
        }
        final LoadArgs parsed;
        try {
            parsed = LoadArgs.parse(args);
        } catch (UsageException e) {
            return usageError("load", e, err);
        }
        try {
            return new LoadCommand(out, err).run(parsed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return LoadCommand.EXIT_ERRORS;
        }
    }

    static int compare(List<String> args, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(CompareArgs.USAGE);
            return 0;
        }
        final CompareArgs parsed;
        try {
            parsed = CompareArgs.parse(args);
        } catch (UsageException e) {
            return usageError("compare", e, err);
        }
        try {
            return new CompareCommand(out, err).run(parsed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return CompareCommand.EXIT_FAILED;
        }
    }

    private static int usageError(String command, UsageException e, PrintStream err) {
        err.println(command + ": " + e.getMessage());
        err.println("Run 'cy-bench " + command + " --help' for usage.");
        return EXIT_USAGE;
    }

    static int call(List<String> args, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(CallArgs.USAGE);
            return 0;
        }
        final CallArgs parsed;
        try {
            parsed = CallArgs.parse(args);
        } catch (UsageException e) {
            err.println("call: " + e.getMessage());
            err.println("Run 'cy-bench call --help' for usage.");
            return EXIT_USAGE;
        }
        // One event-loop thread is plenty for a single call.
        final NettyTransport transport = NettyTransport.create(1, "cy-call");
        try {
            final NettyChannelBuilder builder = transport.channelBuilder(parsed.target());
            if (parsed.tlsCa() != null) {
                final SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(parsed.tlsCa().toFile());
                if (parsed.tlsCert() != null) {
                    ssl.keyManager(parsed.tlsCert().toFile(), parsed.tlsKey().toFile());
                }
                try {
                    builder.useTransportSecurity().sslContext(ssl.build());
                } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
                    err.println("call: --tls-ca, --tls-cert, --tls-key: " + e.getMessage());
                    return EXIT_USAGE;
                }
            }
            final ManagedChannel channel = builder.build();
            try {
                return new CallCommand(channel, out, err).run(parsed);
            } finally {
                channel.shutdownNow();
                channel.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (IllegalStateException e) {
            // A Unix socket target where native epoll is unavailable.
            err.println("error: " + e.getMessage());
            return CallCommand.EXIT_CALL_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return CallCommand.EXIT_CALL_FAILED;
        } finally {
            transport.close();
        }
    }
}
