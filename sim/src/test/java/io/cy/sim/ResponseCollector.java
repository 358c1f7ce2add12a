package io.cy.sim;

import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Collects one StreamPredict call's responses and its end, for tests to wait on. */
final class ResponseCollector implements StreamObserver<StreamPredictResponse> {

    private final List<StreamPredictResponse> responses = new ArrayList<>();
    private Status status;

    @Override
    public synchronized void onNext(StreamPredictResponse response) {
        responses.add(response);
        notifyAll();
    }

    @Override
    public synchronized void onError(Throwable t) {
        status = Status.fromThrowable(t);
        notifyAll();
    }

    @Override
    public synchronized void onCompleted() {
        status = Status.OK;
        notifyAll();
    }

    /** Waits for the end of the call and returns its status. */
    synchronized Status awaitStatus(Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (status == null) {
            final long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("call did not end within " + timeout + "; got " + responses.size()
                        + " responses");
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return status;
    }

    /** Waits until at least n responses arrived. */
    synchronized void awaitResponses(int n, Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (responses.size() < n) {
            final long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("expected " + n + " responses within " + timeout + ", got "
                        + responses.size() + (status == null ? "" : ", call ended with " + status));
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    synchronized List<StreamPredictResponse> responses() {
        return List.copyOf(responses);
    }

    /** The chunk texts of the non-final responses. */
    synchronized List<String> chunks() {
        final List<String> chunks = new ArrayList<>();
        for (StreamPredictResponse r : responses) {
            if (!r.getEndOfStream()) {
                chunks.add(r.getChunk());
            }
        }
        return chunks;
    }
}
