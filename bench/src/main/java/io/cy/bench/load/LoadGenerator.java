package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs StreamPredict load against one target over a set of channels: calls are spread over the
 * channels round-robin (one HTTP/2 connection each), so a large number of open streams does not
 * hit one connection's concurrent-stream limit or one event loop.
 *
 * <p>For the figures to describe the target rather than the client, the channels should run
 * callbacks on their event loops ({@code directExecutor()}): the generator never blocks in them.
 */
public final class LoadGenerator implements LoadDriver {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final List<Channel> channels;

    public LoadGenerator(List<? extends Channel> channels) {
        requireNonNull(channels, "channels");
        if (channels.isEmpty()) {
            throw new IllegalArgumentException("channels: empty (expected: at least one)");
        }
        this.channels = List.copyOf(channels);
    }

    @Override
    public LoadResult run(LoadPlan plan) throws InterruptedException {
        requireNonNull(plan, "plan");
        return new LoadRun(plan, new GrpcCalls(plan, channels)).run();
    }

    /**
     * Waits until every channel is connected and the target answers Health on it, so that no
     * run pays for connection setup.
     *
     * @param token sent as a bearer token; null for none
     * @return null when all answered, else why not
     */
    @Override
    public String awaitReady(Duration timeout, String token) {
        final Metadata headers = new Metadata();
        if (token != null) {
            headers.put(AUTHORIZATION, "Bearer " + token);
        }
        final long deadline = System.nanoTime() + timeout.toNanos();
        for (Channel channel : channels) {
            try {
                AiInferenceGrpc.newBlockingStub(
                                ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers)))
                        .withWaitForReady()
                        .withDeadlineAfter(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                        .health(WorkerHealthRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                final Status status = e.getStatus();
                return "Health failed: " + status.getCode()
                        + (status.getDescription() == null ? "" : ": " + status.getDescription());
            }
        }
        return null;
    }
}
