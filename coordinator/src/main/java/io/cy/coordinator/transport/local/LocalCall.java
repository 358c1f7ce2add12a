package io.cy.coordinator.transport.local;

import io.cy.coordinator.transport.wire.GrpcWire;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call of a {@link LocalChannel}: the caller's {@link ClientCall} and, in {@link Served}, the
 * service's {@link ServerCall}.
 *
 * <p>Flow control is grpc-java's in-process one, message by message: a message is delivered to
 * either side only as that side has requested, the rest wait here; the service's call is ready
 * while the caller has requested more than it was sent, and hears {@code onReady} when a request
 * makes it so. The waiting messages are bounded by what each side sends beyond the other's
 * requests: a service that follows {@code isReady()}, as the forwarder does, holds at most one.
 *
 * <p>Threads: either side may call from any thread. The state is guarded by this object's lock;
 * the listeners of both sides are called one at a time, in the order their events happened, by
 * a drain that runs on the caller's executor ({@link CallOptions#getExecutor()}; the thread of the
 * event when there is none), never under the lock. The service's listener runs with the call's
 * {@link Context} attached, as on a socket.
 */
final class LocalCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {

    private static final Logger logger = LoggerFactory.getLogger(LocalCall.class);

    private final LocalChannel channel;
    private final MethodDescriptor<ReqT, RespT> method;
    private final ServerMethodDefinition<Object, Object> served;
    private final CallOptions options;
    private final Executor executor;
    private final Served service = new Served();
    private final Runnable drain = this::drain;

    // Guarded by this.
    private final ArrayDeque<Runnable> events = new ArrayDeque<>(4);
    private boolean draining;
    private Listener<RespT> listener;
    private ServerCall.Listener<Object> serviceListener;
    private Context.CancellableContext context;
    private boolean started;
    /** The caller has heard onClose, or will next: nothing more reaches it. */
    private boolean callerClosed;
    /** The service closed or was cancelled: nothing more reaches it but its last event. */
    private boolean serviceOver;
    private boolean headersSent;
    private boolean halfClosed;
    private boolean halfCloseDelivered;
    /** Ended by abort(): the caller's events queued before are dropped, its onClose is not. */
    private boolean aborted;
    private boolean reportedOver;
    /** Messages the caller asked for that the service has not sent yet: the service is ready while above zero. */
    private int callerDemand;
    /** Messages the service asked for that the caller has not sent yet. */
    private int serviceDemand;
    private final ArrayDeque<RespT> toCaller = new ArrayDeque<>(2);
    private final ArrayDeque<Object> toService = new ArrayDeque<>(2);
    /** The service's close, held until the caller has requested the messages sent before it. */
    private Status heldStatus;
    private Metadata heldTrailers;

    private volatile boolean cancelled;

    @SuppressWarnings("unchecked")
    LocalCall(LocalChannel channel, MethodDescriptor<ReqT, RespT> method, ServerMethodDefinition<?, ?> served,
              CallOptions options) {
        this.channel = channel;
        this.method = method;
        this.served = (ServerMethodDefinition<Object, Object>) served;
        this.options = options;
        this.executor = options.getExecutor();
    }

    // ---- the caller's side ----

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
        synchronized (this) {
            if (started) {
                throw new IllegalStateException("already started");
            }
            started = true;
            listener = responseListener;
        }
        if (served == null) {
            closeBeforeStart(Status.UNIMPLEMENTED.withDescription("Method not found: " + method.getFullMethodName()));
            return;
        }
        if (channel.isShutdown()) {
            closeBeforeStart(Status.UNAVAILABLE.withDescription("coordinator shut down"));
            return;
        }
        // The caller's deadline, or the one of the context it calls from, whichever comes first.
        Deadline deadline = options.getDeadline();
        final Deadline inherited = Context.current().getDeadline();
        if (inherited != null && (deadline == null || inherited.isBefore(deadline))) {
            deadline = inherited;
        }
        final Context base = channel.baseContext();
        final Context.CancellableContext callContext = deadline == null ? base.withCancellation()
                : base.withDeadline(deadline, channel.deadlines());
        synchronized (this) {
            context = callContext;
            // No drain until the service has its listener: what happens meanwhile (a refusal, a
            // deadline, the channel's shutdown) is heard after, in order.
            draining = true;
        }
        channel.opened(this);
        if (deadline != null) {
            final long timeoutNanos = deadline.timeRemaining(TimeUnit.NANOSECONDS);
            callContext.addListener(c -> {
                if (c.cancellationCause() instanceof TimeoutException) {
                    abort(Status.DEADLINE_EXCEEDED.withDescription(String.format(Locale.ROOT,
                            "deadline exceeded after %.9fs", Math.max(0, timeoutNanos) / 1e9)));
                }
            }, Runnable::run);
        }
        final Context previous = callContext.attach();
        ServerCall.Listener<Object> serviceStarted = null;
        try {
            serviceStarted = served.getServerCallHandler().startCall(service, headers);
        } catch (RuntimeException | Error e) {
            logger.error("{}: the handler failed to start the call", method.getFullMethodName(), e);
        } finally {
            callContext.detach(previous);
        }
        synchronized (this) {
            serviceListener = serviceStarted;
            draining = false;
        }
        if (serviceStarted == null) {
            service.close(GrpcWire.APPLICATION_ERROR, new Metadata());
            return;
        }
        schedule();
    }

    @Override
    public void request(int numMessages) {
        requireNotNegative(numMessages);
        synchronized (this) {
            if (callerClosed) {
                return;
            }
            final boolean wasReady = callerDemand > 0;
            callerDemand = (int) Math.min(Integer.MAX_VALUE, (long) callerDemand + numMessages);
            while (callerDemand > 0 && !toCaller.isEmpty()) {
                callerDemand--;
                final RespT message = toCaller.poll();
                events.add(() -> toCaller(l -> l.onMessage(message)));
            }
            if (toCaller.isEmpty() && heldStatus != null) {
                closeCaller(heldStatus, heldTrailers);
            }
            if (!wasReady && callerDemand > 0 && !serviceOver) {
                events.add(() -> toService(ServerCall.Listener::onReady, false));
            }
        }
        schedule();
    }

    @Override
    public void sendMessage(ReqT message) {
        final Object request;
        try {
            request = method.getRequestMarshaller() == served.getMethodDescriptor().getRequestMarshaller()
                    ? message : served.getMethodDescriptor().parseRequest(method.streamRequest(message));
        } catch (RuntimeException e) {
            abort(Status.INTERNAL.withDescription("the request message does not parse as "
                    + method.getFullMethodName() + "'s request"));
            return;
        }
        synchronized (this) {
            if (halfClosed) {
                throw new IllegalStateException("sendMessage after halfClose");
            }
            if (callerClosed || serviceOver) {
                return;
            }
            if (serviceDemand > 0) {
                serviceDemand--;
                events.add(() -> toService(l -> l.onMessage(request), false));
            } else {
                toService.add(request);
            }
        }
        schedule();
    }

    @Override
    public void halfClose() {
        synchronized (this) {
            if (halfClosed) {
                return;
            }
            halfClosed = true;
            deliverHalfClose();
        }
        schedule();
    }

    @Override
    public void cancel(String message, Throwable cause) {
        Status status = Status.CANCELLED.withDescription(message == null ? "Call cancelled without message" : message);
        if (cause != null) {
            status = status.withCause(cause);
        }
        abort(status);
    }

    @Override
    public synchronized boolean isReady() {
        return !callerClosed && serviceDemand > 0;
    }

    @Override
    public Attributes getAttributes() {
        return channel.attributes();
    }

    // ---- both sides ----

    /**
     * Ends the call on both sides: the caller hears {@code status} (with whatever its service had
     * sent and it had not requested dropped), the service {@code onCancel}. Cancelling, a deadline,
     * a message that does not convert, the channel's shutdown.
     */
    void abort(Status status) {
        synchronized (this) {
            if (!started) {
                return; // start() sees the shutdown itself
            }
            if (!callerClosed) {
                aborted = true;
                toCaller.clear();
                closeCaller(status, new Metadata());
            }
            cancelService();
        }
        schedule();
    }

    /** Marks the service cancelled and queues its onCancel. Under the lock. */
    private void cancelService() {
        if (serviceOver) {
            return;
        }
        serviceOver = true;
        cancelled = true;
        toService.clear();
        final Context.CancellableContext callContext = context;
        events.add(() -> {
            toService(ServerCall.Listener::onCancel, true);
            if (callContext != null) {
                callContext.cancel(null);
            }
        });
        reportIfOver();
    }

    /** Queues the caller's onClose. Under the lock. */
    private void closeCaller(Status status, Metadata trailers) {
        callerClosed = true;
        heldStatus = null;
        heldTrailers = null;
        events.add(() -> {
            final Listener<RespT> l;
            synchronized (this) {
                l = listener;
            }
            try {
                l.onClose(status, trailers);
            } catch (RuntimeException | Error e) {
                logger.error("{}: the caller's listener failed on close", method.getFullMethodName(), e);
            }
        });
        reportIfOver();
    }

    /** Tells the channel once both sides are over. Under the lock. */
    private void reportIfOver() {
        if (callerClosed && serviceOver && !reportedOver) {
            reportedOver = true;
            channel.over(this);
        }
    }

    /** Under the lock. */
    private void deliverHalfClose() {
        if (halfClosed && toService.isEmpty() && !halfCloseDelivered && !serviceOver) {
            halfCloseDelivered = true;
            events.add(() -> toService(ServerCall.Listener::onHalfClose, false));
        }
    }

    private void closeBeforeStart(Status status) {
        synchronized (this) {
            serviceOver = true;
            closeCaller(status, new Metadata());
        }
        schedule();
    }

    /** Runs the events queued so far, now or on the caller's executor, unless a drain is running. */
    private void schedule() {
        synchronized (this) {
            if (draining || events.isEmpty()) {
                return;
            }
            draining = true;
        }
        if (executor == null) {
            drain();
            return;
        }
        try {
            executor.execute(drain);
        } catch (RejectedExecutionException e) {
            // The caller's executor is gone (its event loop shut down): nobody is left to hear.
            logger.debug("{}: the caller's executor refused the call's events", method.getFullMethodName(), e);
            synchronized (this) {
                events.clear();
                draining = false;
            }
        }
    }

    private void drain() {
        while (true) {
            final Runnable event;
            synchronized (this) {
                event = events.poll();
                if (event == null) {
                    draining = false;
                    return;
                }
            }
            event.run();
        }
    }

    /**
     * Calls the caller's listener, unless the call was aborted since the event was queued (its
     * onClose, queued after, still goes out); one that throws cancels the call, as grpc's client
     * call does.
     */
    private void toCaller(java.util.function.Consumer<Listener<RespT>> event) {
        final Listener<RespT> l;
        synchronized (this) {
            if (aborted) {
                return;
            }
            l = listener;
        }
        try {
            event.accept(l);
        } catch (RuntimeException | Error e) {
            logger.error("{}: the caller's listener failed", method.getFullMethodName(), e);
            cancel("the caller's listener failed", e);
        }
    }

    /**
     * Calls the service's listener with the call's context, unless the service is over (closed or
     * cancelled) and this is not its {@code last} event; one that throws ends the call with
     * UNKNOWN, as grpc's server does.
     */
    private void toService(java.util.function.Consumer<ServerCall.Listener<Object>> event, boolean last) {
        final ServerCall.Listener<Object> l;
        final Context.CancellableContext callContext;
        synchronized (this) {
            if (serviceOver && !last) {
                return;
            }
            l = serviceListener;
            callContext = context;
        }
        if (l == null) {
            return;
        }
        final Context previous = callContext.attach();
        try {
            event.accept(l);
        } catch (RuntimeException | Error e) {
            logger.error("{}: a call listener failed", method.getFullMethodName(), e);
            service.close(GrpcWire.APPLICATION_ERROR, new Metadata());
        } finally {
            callContext.detach(previous);
        }
    }

    /** As grpc-java's calls: asking for no message is allowed, and changes nothing. */
    private static void requireNotNegative(int numMessages) {
        if (numMessages < 0) {
            throw new IllegalArgumentException("numMessages: " + numMessages + " (expected: >= 0)");
        }
    }

    /** The service's side of the call. */
    private final class Served extends ServerCall<Object, Object> {

        @Override
        public void request(int numMessages) {
            requireNotNegative(numMessages);
            synchronized (LocalCall.this) {
                if (serviceOver) {
                    return;
                }
                final boolean wasReady = serviceDemand > 0;
                serviceDemand = (int) Math.min(Integer.MAX_VALUE, (long) serviceDemand + numMessages);
                while (serviceDemand > 0 && !toService.isEmpty()) {
                    serviceDemand--;
                    final Object message = toService.poll();
                    events.add(() -> toService(l -> l.onMessage(message), false));
                }
                deliverHalfClose();
                if (!wasReady && serviceDemand > 0 && !callerClosed) {
                    events.add(() -> toCaller(ClientCall.Listener::onReady));
                }
            }
            schedule();
        }

        @Override
        public void sendHeaders(Metadata headers) {
            synchronized (LocalCall.this) {
                if (headersSent || serviceOver || callerClosed) {
                    return;
                }
                headersSent = true;
                events.add(() -> toCaller(l -> l.onHeaders(headers)));
            }
            schedule();
        }

        @Override
        @SuppressWarnings("unchecked")
        public void sendMessage(Object message) {
            final RespT response;
            try {
                response = method.getResponseMarshaller() == served.getMethodDescriptor().getResponseMarshaller()
                        ? (RespT) message : method.parseResponse(served.getMethodDescriptor().streamResponse(message));
            } catch (RuntimeException e) {
                logger.error("{}: a response does not parse as the caller's", method.getFullMethodName(), e);
                abort(Status.INTERNAL.withDescription("the response message does not parse as "
                        + method.getFullMethodName() + "'s response"));
                return;
            }
            synchronized (LocalCall.this) {
                if (serviceOver || callerClosed) {
                    return;
                }
                if (!headersSent) {
                    headersSent = true;
                    events.add(() -> toCaller(l -> l.onHeaders(new Metadata())));
                }
                if (callerDemand > 0) {
                    callerDemand--;
                    events.add(() -> toCaller(l -> l.onMessage(response)));
                } else {
                    toCaller.add(response);
                }
            }
            schedule();
        }

        @Override
        public boolean isReady() {
            synchronized (LocalCall.this) {
                return !serviceOver && !callerClosed && callerDemand > 0;
            }
        }

        @Override
        public void close(Status status, Metadata trailers) {
            // As a transport would: the status's code and description reach the caller, not its cause.
            final Status sent = status.getCause() == null ? status
                    : Status.fromCode(status.getCode()).withDescription(status.getDescription());
            final Context.CancellableContext callContext;
            synchronized (LocalCall.this) {
                if (serviceOver) {
                    return;
                }
                serviceOver = true;
                toService.clear();
                callContext = context;
                events.add(() -> {
                    toService(ServerCall.Listener::onComplete, true);
                    if (callContext != null) {
                        callContext.cancel(null);
                    }
                });
                if (!callerClosed) {
                    if (toCaller.isEmpty()) {
                        closeCaller(sent, trailers);
                    } else {
                        heldStatus = sent;
                        heldTrailers = trailers;
                    }
                }
                reportIfOver();
            }
            schedule();
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public Attributes getAttributes() {
            return channel.attributes();
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            // Nothing leaves the process.
            return SecurityLevel.PRIVACY_AND_INTEGRITY;
        }

        @Override
        public String getAuthority() {
            return channel.authority();
        }

        @Override
        public MethodDescriptor<Object, Object> getMethodDescriptor() {
            return served.getMethodDescriptor();
        }

        @Override
        public void setCompression(String compressor) {
            // Nothing is compressed in process.
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            // Nothing is compressed in process.
        }
    }
}
