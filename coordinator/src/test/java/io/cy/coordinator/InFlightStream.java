package io.cy.coordinator;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/** A StreamPredict call in the background whose progress and end can be waited for (latch and future). */
final class InFlightStream implements ClientResponseObserver<StreamPredictRequest, StreamPredictResponse> {

    final List<StreamPredictResponse> responses = new CopyOnWriteArrayList<>();
    final CountDownLatch progress;
    final CompletableFuture<Status> done = new CompletableFuture<>();
    volatile long endedAtNanos;

    private InFlightStream(int progressAt) {
        this.progress = new CountDownLatch(progressAt);
    }

    /** Sends {@code request} and half-closes; {@link #progress} opens after {@code progressAt} chunks. */
    static InFlightStream start(ManagedChannel channel, StreamPredictRequest request, int progressAt) {
        final InFlightStream stream = new InFlightStream(progressAt);
        final var requests = AiInferenceGrpc.newStub(channel).streamPredict(stream);
        requests.onNext(request);
        requests.onCompleted();
        return stream;
    }

    List<StreamPredictResponse> chunks() {
        return responses.stream().filter(r -> !r.getEndOfStream()).toList();
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamPredictRequest> requestStream) {
    }

    @Override
    public void onNext(StreamPredictResponse response) {
        responses.add(response);
        if (!response.getEndOfStream()) {
            progress.countDown();
        }
    }

    @Override
    public void onError(Throwable t) {
        endedAtNanos = System.nanoTime();
        done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        endedAtNanos = System.nanoTime();
        done.complete(Status.OK);
    }
}
