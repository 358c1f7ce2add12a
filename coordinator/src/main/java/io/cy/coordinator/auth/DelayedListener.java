package io.cy.coordinator.auth;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A call listener that holds the call's callbacks until the real listener exists, then hands
 * them over in order. While the call waits, nothing is requested from the client, so at most
 * a handful of callbacks (readiness, cancellation, and the messages the real handler asks for
 * while it starts) are ever held.
 */
final class DelayedListener<ReqT> extends io.grpc.ServerCall.Listener<ReqT> {

    private io.grpc.ServerCall.Listener<ReqT> delegate;
    private List<Consumer<io.grpc.ServerCall.Listener<ReqT>>> pending = new ArrayList<>(4);

    /** Installs the real listener and replays what arrived before it; callable from any thread. */
    void setDelegate(io.grpc.ServerCall.Listener<ReqT> listener) {
        while (true) {
            final List<Consumer<io.grpc.ServerCall.Listener<ReqT>>> toRun;
            synchronized (this) {
                if (pending.isEmpty()) {
                    delegate = listener;
                    pending = null;
                    return;
                }
                toRun = pending;
                pending = new ArrayList<>(4);
            }
            for (Consumer<io.grpc.ServerCall.Listener<ReqT>> callback : toRun) {
                callback.accept(listener);
            }
        }
    }

    private void deliver(Consumer<io.grpc.ServerCall.Listener<ReqT>> callback) {
        final io.grpc.ServerCall.Listener<ReqT> target;
        synchronized (this) {
            if (delegate == null) {
                pending.add(callback);
                return;
            }
            target = delegate;
        }
        callback.accept(target);
    }

    @Override
    public void onMessage(ReqT message) {
        deliver(l -> l.onMessage(message));
    }

    @Override
    public void onHalfClose() {
        deliver(io.grpc.ServerCall.Listener::onHalfClose);
    }

    @Override
    public void onCancel() {
        deliver(io.grpc.ServerCall.Listener::onCancel);
    }

    @Override
    public void onComplete() {
        deliver(io.grpc.ServerCall.Listener::onComplete);
    }

    @Override
    public void onReady() {
        deliver(io.grpc.ServerCall.Listener::onReady);
    }
}
