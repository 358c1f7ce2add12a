package io.cy.sim;

import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One StreamPredict call: reads the first request, then produces its chunks as fast as the
 * client takes them.
 *
 * <p>Chunks are produced only while the call {@code isReady()}; otherwise the producer stops,
 * counts a pushback and resumes in the onReady handler, so a slow client holds the stream at
 * the HTTP/2 windows instead of growing a buffer. Delays run on the shared timer, never by
 * sleeping in a gRPC thread.
 *
 * <p>gRPC threads (request messages, onReady, cancel) and timer threads all enter here, so every
 * method synchronises on the call; that also serialises onNext/onCompleted/onError as gRPC
 * requires. {@code finished} guards the single end of the call: the stats count it exactly once.
 */
final class PredictCall implements StreamObserver<StreamPredictRequest> {

    private final ServerCallStreamObserver<StreamPredictResponse> out;
    private final SimConfig config;
    private final SimStats stats;
    private final ScheduledExecutorService timer;
    private final Runnable timerTask = this::timerFired;
    // Reused for every message of the call: build() copies, and this saves a builder per chunk.
    private final StreamPredictResponse.Builder response = StreamPredictResponse.newBuilder();

    // All guarded by this.
    private boolean received;
    private boolean finished;
    private boolean awaitingReady;
    private ScheduledFuture<?> pending;
    private CallPlan plan;
    private ChunkText text;
    private int sent;
    private long requestNanos;
    private long firstChunkNanos;

    PredictCall(ServerCallStreamObserver<StreamPredictResponse> out, SimConfig config, SimStats stats,
            ScheduledExecutorService timer) {
        this.out = out;
        this.config = config;
        this.stats = stats;
        this.timer = timer;
    }

    /**
     * Counts the call and installs the handlers; must run inside the service method.
     *
     * @param authError why the caller is not authenticated, or null if it is
     */
    synchronized void start(String authError) {
        stats.callStarted();
        out.setOnCancelHandler(this::cancelled);
        out.setOnReadyHandler(this::ready);
        if (authError != null) {
            fail(Status.UNAUTHENTICATED.withDescription(authError));
        }
    }

    @Override
    public synchronized void onNext(StreamPredictRequest request) {
        if (finished || received) {
            return; // the worker reads only the first request message
        }
        received = true;
        requestNanos = System.nanoTime();
        stats.request(request);
        try {
            plan = CallPlan.of(config, request);
        } catch (StatusException e) {
            fail(e.getStatus());
            return;
        }
        text = new ChunkText(request.getPrompt(), plan.chunkBytes);
        response.setTraceId(request.getMetadata().getTraceId());
        if (plan.ttftNanos > 0 && !plan.stopsBeforeFirstChunk()) {
            schedule(plan.ttftNanos);
        } else {
            produce();
        }
    }

    @Override
    public synchronized void onCompleted() {
        if (!finished && !received) {
            fail(Status.INVALID_ARGUMENT.withDescription("Empty request stream"));
        }
        // Otherwise the client merely half-closed: keep streaming.
    }

    @Override
    public void onError(Throwable t) {
        // The client went away; gRPC reports that to the cancel handler as well.
        cancelled();
    }

    private synchronized void cancelled() {
        if (finished) {
            return;
        }
        finished = true;
        cancelPending();
        stats.callCancelled();
    }

    private synchronized void ready() {
        if (finished || !awaitingReady) {
            return;
        }
        awaitingReady = false;
        produce();
    }

    private synchronized void timerFired() {
        pending = null;
        if (finished) {
            return;
        }
        produce();
    }

    /** Sends what the plan and the client's readiness allow, then returns; never blocks. */
    private void produce() {
        while (true) {
            if (plan.failStatus != null && sent == plan.failAfter) {
                fail(plan.failStatus.toStatus()
                        .withDescription("simulated " + plan.failStatus + " after " + sent + " chunks"));
                return;
            }
            if (sent == plan.stallAfter) {
                return; // silent until the client cancels
            }
            if (!out.isReady()) {
                awaitingReady = true;
                stats.pushback();
                return;
            }
            if (sent == plan.tokens) {
                succeed();
                return;
            }
            sendChunk();
            if (plan.gapNanos > 0 && sent < plan.tokens) {
                schedule(plan.gapNanos);
                return;
            }
        }
    }

    private void sendChunk() {
        final int index = sent;
        out.onNext(response.setChunk(text.chunk(index)).setIndex(index).build());
        if (index == 0) {
            firstChunkNanos = System.nanoTime();
        }
        sent = index + 1;
        stats.chunkSent();
    }

    private void succeed() {
        final long now = System.nanoTime();
        final long firstNanos = sent == 0 ? now : firstChunkNanos;
        final double seconds = Math.max(1, now - requestNanos) / 1e9;
        final StreamPredictResponse last = response
                .setChunk("")
                .setEndOfStream(true)
                .setIndex(sent)
                .setTtftMs((float) ((firstNanos - requestNanos) / 1e6))
                .setTokensPerSec((float) (sent / seconds))
                .build();
        finished = true;
        stats.callSucceeded();
        out.onNext(last);
        out.onCompleted();
    }

    private void fail(Status status) {
        finished = true;
        cancelPending();
        stats.callFailed();
        out.onError(status.asRuntimeException());
    }

    private void schedule(long delayNanos) {
        try {
            pending = timer.schedule(timerTask, delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The sidecar is closing; the server is cancelling this call right now.
            fail(Status.UNAVAILABLE.withDescription("simulated sidecar is shutting down"));
        }
    }

    private void cancelPending() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }
}
