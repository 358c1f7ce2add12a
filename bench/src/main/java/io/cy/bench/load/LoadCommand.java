package io.cy.bench.load;

import io.cy.coordinator.transport.netty.NettyTransport;
import java.io.PrintStream;
import java.time.Duration;

/** {@code cy-bench load}: one load run against one target, reported on stdout. */
public final class LoadCommand {

    public static final int EXIT_OK = 0;
    public static final int EXIT_ERRORS = 1;

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);

    private final PrintStream out;
    private final PrintStream err;

    public LoadCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Runs the load; returns the process exit status. */
    public int run(LoadArgs args) throws InterruptedException {
        final NettyTransport transport = NettyTransport.create(args.threads(), "cy-load");
        try {
            if (args.http() != null) {
                // One connection per call in progress: an open loop's outstanding calls, a closed loop's workers.
                try (HttpConnections connections = HttpConnections.open(transport, args.http(), args.concurrency())) {
                    return run(args, new SseLoadGenerator(connections), args.http().toString(),
                            "HTTP/1.1 with SSE, up to " + args.concurrency()
                                    + (args.concurrency() == 1 ? " connection" : " connections"));
                }
            }
            try (ClientChannels channels = ClientChannels.open(transport, args.target(), args.channels(), args.tlsCa())) {
                return run(args, new LoadGenerator(channels.channels()), args.target().toString(),
                        args.channels() + (args.channels() == 1 ? " channel" : " channels"));
            }
        } catch (IllegalStateException e) {
            // A Unix socket target where native epoll is unavailable.
            err.println("error: " + e.getMessage());
            return EXIT_ERRORS;
        } finally {
            transport.close();
        }
    }

    private int run(LoadArgs args, LoadDriver driver, String target, String connections) throws InterruptedException {
        final String notReady = driver.awaitReady(CONNECT_TIMEOUT, args.token());
        if (notReady != null) {
            err.println("error: " + target + ": " + notReady);
            return EXIT_ERRORS;
        }
        final LoadPlan plan = args.plan();
        if (args.warmupS() > 0) {
            err.println("warming up for " + args.warmupS() + " s...");
            driver.run(new LoadPlan(plan.concurrency(), Long.MAX_VALUE, Duration.ofSeconds(args.warmupS()),
                    plan.rate(), plan.request(), plan.expectedChunks(), plan.token(), plan.drainTimeout()));
        }
        final LoadResult result = driver.run(plan);
        if (args.json()) {
            out.println(result.toJson());
        } else {
            out.println("target    " + target + ": " + plan.describe() + ", " + args.maxNewTokens() + " tokens, "
                    + connections);
            out.print(result.toText());
        }
        out.flush();
        return result.errorCount() == 0 ? EXIT_OK : EXIT_ERRORS;
    }
}
