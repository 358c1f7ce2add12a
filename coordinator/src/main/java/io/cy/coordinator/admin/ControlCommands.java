package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.ControlHandler;
import io.cy.llm.proto.ControlMessage;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The admin API's changes, made as Control commands through the same {@link ControlHandler} the
 * gRPC Control method calls, with the caller's identity in the context: the same checks, the same
 * logs, and one audit event per command ({@code api} {@code admin}). A command may answer later
 * (a route change waiting for Redis); the admin thread waits for it, at most {@code timeout}.
 */
final class ControlCommands {

    /** The audit log's {@code api} of commands made through the admin API. */
    static final String API = "admin";

    private final ControlHandler handler;
    private final Duration timeout;

    ControlCommands(ControlHandler handler, Duration timeout) {
        this.handler = requireNonNull(handler, "handler");
        this.timeout = requireNonNull(timeout, "timeout");
    }

    /**
     * Runs {@code command} as {@code caller} (null with authentication off) and returns the answer
     * when its status is ok.
     *
     * @throws ApiException for an answer with status error (400), or a refusal or failure of the command
     */
    ControlMessage run(Identity caller, String command, Map<String, String> payload, String peer) {
        final ControlMessage request = ControlMessage.newBuilder().setCommand(command).putAllPayload(payload).build();
        final CompletableFuture<ControlMessage> answer = new CompletableFuture<>();
        final StreamObserver<ControlMessage> responses = new StreamObserver<>() {
            private volatile ControlMessage reply;

            @Override
            public void onNext(ControlMessage value) {
                reply = value;
            }

            @Override
            public void onError(Throwable t) {
                answer.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                answer.complete(reply);
            }
        };
        final Context context = caller == null ? Context.current() : Context.current().withValue(Identity.CURRENT, caller);
        context.run(() -> handler.control(request, new Metadata(), peer, API, responses));
        final ControlMessage reply;
        try {
            reply = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ApiException(504, "timeout", command + ": no answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            final Status status = Status.fromThrowable(e.getCause());
            throw new ApiException(httpStatus(status.getCode()), status.getCode().name().toLowerCase(java.util.Locale.ROOT),
                    String.valueOf(status.getDescription()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "unavailable", "the coordinator is stopping");
        }
        if (reply == null) {
            throw new ApiException(502, "internal", command + ": answered without a message");
        }
        if (!"ok".equals(reply.getPayloadOrDefault("status", ""))) {
            throw new ApiException(400, "invalid_argument", reply.getPayloadOrDefault("message", command + " failed"));
        }
        return reply;
    }

    private static int httpStatus(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 502;
        };
    }
}
