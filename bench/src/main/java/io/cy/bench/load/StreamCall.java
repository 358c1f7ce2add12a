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
final class StreamCall extends ClientCall.Listener<StreamPredictResponse> implements LoadCall {

    private final LoadRun run;
    private final long startNanos;
    private final Runnable onEnd;
    private final StreamCheck check;
    private final ClientCall<StreamPredictRequest, StreamPredictResponse> call;
    private final StreamPredictRequest request;
    private final Metadata headers;
    private volatile boolean started;
    private volatile boolean cancelledByRun;
    // Listener methods only.
    private long lastChunkNanos;
    private int received;
    private int requested;

    /**
     * @param startNanos when the call counts as started: its scheduled time in an open loop
     * @param onEnd runs after the run has counted the call's end
     * @param initialRequest messages asked for up front: the whole expected stream, so a
     *     well-behaved target never waits for the client's flow control
     */
    StreamCall(LoadRun run, long startNanos, StreamCheck check, Runnable onEnd,
            ClientCall<StreamPredictRequest, StreamPredictResponse> call, StreamPredictRequest request,
            Metadata headers, int initialRequest) {
        this.run = run;
        this.startNanos = startNanos;
        this.check = check;
        this.onEnd = onEnd;
        this.call = call;
        this.request = request;
        this.headers = headers;
        this.requested = initialRequest;
    }

    @Override
    public void start() {
        started = true;
        call.start(this, headers);
        call.request(requested);
        call.sendMessage(request);
        call.halfClose();
    }

    @Override
    public long startNanos() {
        return startNanos;
    }

    @Override
    public void cancelByRun() {
        cancelledByRun = true;
        // Not started yet: it starts and ends on its own; cancelling an unstarted call is not allowed.
        if (started) {
            call.cancel("still open after the drain timeout", null);
        }
    }

    @Override
    public void onMessage(StreamPredictResponse response) {
        final long now = System.nanoTime();
        received++;
        if (check.onMessage(response)) {
            run.chunk(check.chunks(), startNanos, lastChunkNanos, now);
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
        if (status.isOk() && problem == null) {
            run.succeeded(this, now);
        } else if (status.isOk()) {
            run.failed(this, LoadRun.BAD_STREAM, LoadRun.BAD_STREAM + ": " + problem, now);
        } else if (cancelledByRun && status.getCode() == Status.Code.CANCELLED) {
            run.failed(this, LoadRun.UNFINISHED, LoadRun.UNFINISHED_DESCRIPTION, now);
        } else {
            final String kind = status.getCode().name();
            run.failed(this, kind, kind + (status.getDescription() == null ? "" : ": " + status.getDescription())
                    + (status.getCause() == null ? "" : " (" + status.getCause() + ")"), now);
        }
        onEnd.run();
    }
}
