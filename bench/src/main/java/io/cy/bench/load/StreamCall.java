package io.cy.bench.load;

import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;

/**
 * One StreamPredict call of a load run: sends the request, half-closes, times and checks every
 * response, and reports its end to the run.
 *
 * <p>gRPC runs the listener methods one at a time; the fields they touch need no lock.
 */
final class StreamCall extends ClientCall.Listener<StreamPredictResponse> {

    private final LoadRun run;
    private final long startNanos;
    private final Runnable onEnd;
    private final StreamCheck check;
    private volatile ClientCall<StreamPredictRequest, StreamPredictResponse> call;
    private volatile boolean cancelledByRun;
    // Listener methods only.
    private long lastChunkNanos;
    private int received;
    private int requested;

    /**
     * @param startNanos when the call counts as started: its scheduled time in an open loop
     * @param onEnd runs after the run has counted the call's end
     */
    StreamCall(LoadRun run, long startNanos, StreamCheck check, Runnable onEnd) {
        this.run = run;
        this.startNanos = startNanos;
        this.check = check;
        this.onEnd = onEnd;
    }

    /**
     * @param initialRequest messages asked for up front: the whole expected stream, so a
     *     well-behaved target never waits for the client's flow control
     */
    void start(ClientCall<StreamPredictRequest, StreamPredictResponse> call, StreamPredictRequest request,
            Metadata headers, int initialRequest) {
        this.call = call;
        this.requested = initialRequest;
        call.start(this, headers);
        call.request(initialRequest);
        call.sendMessage(request);
        call.halfClose();
    }

    long startNanos() {
        return startNanos;
    }

    boolean cancelledByRun() {
        return cancelledByRun;
    }

    /** Ends a call still open after the drain timeout; it then counts as {@code unfinished}. */
    void cancelByRun() {
        cancelledByRun = true;
        final ClientCall<StreamPredictRequest, StreamPredictResponse> c = call;
        if (c != null) {
            c.cancel("still open after the drain timeout", null);
        }
    }

    @Override
    public void onMessage(StreamPredictResponse response) {
        final long now = System.nanoTime();
        received++;
        if (check.onMessage(response)) {
            if (check.chunks() == 1) {
                run.firstChunk(now - startNanos);
            } else {
                run.nextChunk(now - lastChunkNanos);
            }
            lastChunkNanos = now;
        }
        // More messages than expected: keep reading, so the check sees them and the call ends.
        if (received >= requested) {
            requested++;
            call.request(1);
        }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        final long now = System.nanoTime();
        final String problem = status.isOk() ? check.finish() : check.problem();
        run.ended(this, status, problem, now);
        onEnd.run();
    }
}
