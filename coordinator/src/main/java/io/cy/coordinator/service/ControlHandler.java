package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.redis.SharedRoutesException;
import io.cy.coordinator.sidecar.BackendQueue;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Control method. The coordinator answers its own commands ({@code ping},
 * {@code list_sidecars}, {@code drain_sidecar}, {@code undrain_sidecar}, the quota and route
 * commands, {@code reload_config}, and {@code list_models} once backends are configured) in the worker's
 * convention, {@code <command>_response} with payload {@code status} = ok|error and
 * {@code message}; any other command goes to a sidecar (payload {@code sidecar} may name one)
 * and its answer is relayed.
 */
public final class ControlHandler {

    private static final Logger logger = LoggerFactory.getLogger(ControlHandler.class);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    /** Told of every command and how it was answered, for the audit log. Must not block or throw. */
    @FunctionalInterface
    public interface CommandListener {
        void onCommand(Identity caller, ControlMessage request, Status status, String answerStatus, String peer,
                       String api, long durationNanos);
    }

    private final SidecarPool sidecars;
    private final Quotas quotas;
    private final RouteCommands routes;
    private final CommandListener commands;
    private final java.util.function.Supplier<CompletionStage<String>> reload;
    private final String internalToken;
    private final String adminRole;
    private final Duration timeout;
    private final String version;

    /**
     * @param reload re-reads the configuration and applies what can change at runtime; completes
     *     with what it did, or fails with {@link ConfigException} for an invalid configuration or
     *     {@link SharedRoutesException} when shared routes could not be written
     */
    public ControlHandler(SidecarPool sidecars, Quotas quotas, RouteCommands routes,
                          java.util.function.Supplier<CompletionStage<String>> reload,
                          String internalToken, String adminRole, Duration timeout, String version,
                          CommandListener commands) {
        this.commands = requireNonNull(commands, "commands");
        this.adminRole = requireNonNull(adminRole, "adminRole");
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.quotas = requireNonNull(quotas, "quotas");
        this.routes = requireNonNull(routes, "routes");
        this.reload = requireNonNull(reload, "reload");
        this.internalToken = requireNonNull(internalToken, "internalToken");
        this.timeout = requireNonNull(timeout, "timeout");
        this.version = requireNonNull(version, "version");
    }

    /** @param api {@code grpc}, or {@code http} for commands of the HTTP bridge */
    public void control(ControlMessage request, Metadata headers, String peer, String api,
                        StreamObserver<ControlMessage> responses) {
        handle(request, headers, new Recording(request, Identity.CURRENT.get(), peer, api, responses));
    }

    private void handle(ControlMessage request, Metadata headers, StreamObserver<ControlMessage> responses) {
        final String command = request.getCommand().trim();
        if (command.isEmpty()) {
            responses.onError(Status.INVALID_ARGUMENT
                    .withDescription("command: empty (expected: a command name such as ping)").asRuntimeException());
            return;
        }
        final Identity caller = Identity.CURRENT.get();
        if (caller != null && !adminRole.isEmpty() && !command.equals("list_models") && !caller.hasRole(adminRole)) {
            responses.onError(Status.PERMISSION_DENIED.withDescription("role '" + adminRole + "' required for Control "
                    + (command.length() > 64 ? command.substring(0, 64) + "…" : command) + " (tenant " + caller.tenant()
                    + " has roles: " + String.join(", ", caller.roles()) + ")").asRuntimeException());
            return;
        }
        final String traceId = TraceIds.resolve(request.getTraceId(), headers);
        switch (command) {
            case "ping":
                reply(responses, traceId, command, ok("pong").putPayload("backend", "java").putPayload("version", version));
                return;
            case "list_sidecars":
                reply(responses, traceId, command, listSidecars());
                return;
            case "drain_sidecar":
            case "undrain_sidecar":
                reply(responses, traceId, command, setDraining(request, command.equals("drain_sidecar")));
                return;
            case "quota_get":
            case "quota_set":
            case "quota_reset":
                replyLater(responses, traceId, command, quota(command, request));
                return;
            case "reload_config":
                replyLater(responses, traceId, command, reloadConfig());
                return;
            case "routes_get":
                reply(responses, traceId, command, routes.get());
                return;
            case "routes_set":
                replyLater(responses, traceId, command, routes.set(request, caller));
                return;
            case "routes_rollback":
                replyLater(responses, traceId, command, routes.rollback(request, caller));
                return;
            case "degrade_set":
                replyLater(responses, traceId, command, routes.degradeSet(request, caller));
                return;
            case "list_models":
                if (routes.answersListModels() && !request.containsPayload("sidecar")) {
                    reply(responses, traceId, command,
                            routes.listModels(caller == null ? List.of() : quotas.policyFor(caller.tenant()).models()));
                    return;
                }
                forward(request.toBuilder().setTraceId(traceId).build(), traceId, caller, responses);
                return;
            default:
                forward(request.toBuilder().setTraceId(traceId).build(), traceId, caller, responses);
        }
    }

    private ControlMessage.Builder listSidecars() {
        final List<Sidecar> all = sidecars.all();
        final ControlMessage.Builder answer = ok(all.size() + " sidecars, " + sidecars.availableCount() + " available")
                .putPayload("count", String.valueOf(all.size()));
        for (int i = 0; i < all.size(); i++) {
            final Sidecar s = all.get(i);
            final String prefix = "sidecar." + i + ".";
            answer.putPayload(prefix + "addr", s.endpoint().toString())
                    .putPayload(prefix + "healthy", String.valueOf(s.isHealthy()))
                    .putPayload(prefix + "draining", String.valueOf(s.isDraining()))
                    .putPayload(prefix + "inflight", String.valueOf(s.inflight()))
                    .putPayload(prefix + "backend", sidecars.backendOf(s));
            // Read once: an ejection that ends between two reads would otherwise half show.
            final java.time.Instant ejectedUntil = s.ejectedUntil();
            final String ejection = ejectedUntil == null ? "" : s.lastEjectionReason();
            answer.putPayload(prefix + "ejected", String.valueOf(ejectedUntil != null))
                    .putPayload(prefix + "ejected_until", ejectedUntil == null ? ""
                            : ejectedUntil.truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString())
                    .putPayload(prefix + "reason", s.reason().isEmpty() ? ejection
                            : ejection.isEmpty() ? s.reason() : s.reason() + "; " + ejection);
        }
        for (String backend : sidecars.backendIds()) {
            final BackendQueue queue = sidecars.queue(backend);
            answer.putPayload("backend." + backend + ".queue_depth", String.valueOf(queue.depth()))
                    .putPayload("backend." + backend + ".queue_wait_p50_ms", String.valueOf(queue.waitP50Millis()));
        }
        return answer;
    }

    private ControlMessage.Builder setDraining(ControlMessage request, boolean draining) {
        final String addr = request.getPayloadOrDefault("addr", "").trim();
        if (addr.isEmpty()) {
            return error("addr: missing (expected: one of " + addresses() + ")");
        }
        final Sidecar sidecar = sidecars.find(addr);
        if (sidecar == null) {
            return error("addr: " + addr + " is not a configured sidecar (expected: one of " + addresses() + ")");
        }
        sidecar.setDraining(draining);
        logger.info("sidecar {} {}", sidecar, draining ? "draining: no new calls" : "back in rotation");
        return ok((draining ? "draining " : "undrained ") + sidecar);
    }

    /** Answered when a shared quota store has answered: the event loop never waits for Redis. */
    private CompletionStage<ControlMessage.Builder> quota(String command, ControlMessage request) {
        final String tenant = request.getPayloadOrDefault("tenant", "").trim();
        if (tenant.isEmpty()) {
            return CompletableFuture.completedFuture(
                    error("tenant: missing (expected: the tenant whose quota to " + command.substring(6) + ")"));
        }
        switch (command) {
            case "quota_get":
                return quotas.describeAsync(tenant).thenApply(usage -> ok("quota of tenant " + tenant).putAllPayload(usage));
            case "quota_reset":
                return quotas.resetAsync(tenant).handle((done, failure) -> {
                    if (failure != null) {
                        // A shared store that did not answer: nothing was reset, and the caller is told.
                        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                                ? failure.getCause() : failure;
                        return error(cause.getMessage());
                    }
                    logger.info("quota usage of tenant {} reset", tenant);
                    return ok("usage of tenant " + tenant + " reset");
                });
            default:
                final java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(request.getPayloadMap());
                settings.remove("tenant");
                if (settings.isEmpty()) {
                    return CompletableFuture.completedFuture(
                            error("payload: no limits given (expected: keys such as requests_per_minute, concurrent)"));
                }
                try {
                    quotas.setTenantPolicy(tenant, ConfigLoader.policy(settings, quotas.policyFor(tenant), "payload"));
                } catch (ConfigException e) {
                    return CompletableFuture.completedFuture(error(e.getMessage()));
                }
                logger.info("quota of tenant {} set: {}", tenant, settings);
                return quotas.describeAsync(tenant).thenApply(usage ->
                        ok("quota of tenant " + tenant + " set for new calls").putAllPayload(usage));
        }
    }

    private CompletionStage<ControlMessage.Builder> reloadConfig() {
        CompletionStage<String> reloaded;
        try {
            reloaded = reload.get();
        } catch (RuntimeException e) {
            reloaded = CompletableFuture.failedFuture(e);
        }
        return reloaded.handle((done, failure) -> {
            if (failure == null) {
                return ok(done);
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            if (!(cause instanceof ConfigException) && !(cause instanceof SharedRoutesException)) {
                logger.error("reload_config failed", cause);
            }
            return error("configuration not reloaded: " + (cause instanceof ConfigException
                    || cause instanceof SharedRoutesException ? cause.getMessage() : cause.getClass().getSimpleName()));
        });
    }

    private void forward(ControlMessage request, String traceId, Identity caller,
                         StreamObserver<ControlMessage> responses) {
        final String named = request.getPayloadOrDefault("sidecar", "").trim();
        final Sidecar sidecar;
        if (!named.isEmpty()) {
            sidecar = sidecars.find(named);
            if (sidecar == null) {
                reply(responses, traceId, request.getCommand(),
                        error("sidecar: " + named + " is not a configured sidecar (expected: one of " + addresses() + ")"));
                return;
            }
        } else {
            sidecar = sidecars.acquire(List.of(), RoutingKey.NONE);
            if (sidecar == null) {
                responses.onError(Status.UNAVAILABLE.withDescription("no sidecar available for Control "
                        + request.getCommand()).asRuntimeException());
                return;
            }
            sidecar.release();
        }
        final Metadata headers = new Metadata();
        if (!internalToken.isEmpty()) {
            headers.put(AUTHORIZATION, "Bearer " + internalToken);
        }
        headers.put(TraceIds.TRACE_ID, traceId);
        Deadline deadline = Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
        final Deadline callerDeadline = Context.current().getDeadline();
        if (callerDeadline != null) {
            deadline = deadline.minimum(callerDeadline);
        }
        final SidecarAnswer answer = new SidecarAnswer();
        final CallOptions options = CallOptions.DEFAULT.withDeadline(deadline).withStreamTracerFactory(answer);
        ClientCalls.asyncUnaryCall(
                ClientInterceptors.intercept(sidecar.channel(), MetadataUtils.newAttachHeadersInterceptor(headers))
                        .newCall(AiInferenceGrpc.getControlMethod(), options),
                request.toBuilder().removePayload("sidecar").build(), new StreamObserver<ControlMessage>() {
                    @Override
                    public void onNext(ControlMessage reply) {
                        responses.onNext(caller == null ? reply : onlyAllowedModels(reply, caller.tenant()));
                    }

                    @Override
                    public void onError(Throwable t) {
                        responses.onError(Statuses.fromSidecar(sidecar, Status.fromThrowable(t), answer.fromSidecar()).asRuntimeException());
                    }

                    @Override
                    public void onCompleted() {
                        responses.onCompleted();
                    }
                });
    }

    /** A {@code list_models} answer limited to the models the caller's tenant may use. */
    private ControlMessage onlyAllowedModels(ControlMessage reply, String tenant) {
        final List<String> allowed = quotas.policyFor(tenant).models();
        if (allowed.isEmpty() || !reply.containsPayload("models")) {
            return reply;
        }
        final List<String> models = new ArrayList<>();
        for (String model : reply.getPayloadOrThrow("models").split(",")) {
            if (allowed.contains(model.trim())) {
                models.add(model.trim());
            }
        }
        return reply.toBuilder().putPayload("models", String.join(",", models)).build();
    }

    private String addresses() {
        final List<String> list = new ArrayList<>();
        for (Sidecar s : sidecars.all()) {
            list.add(s.endpoint().toString());
        }
        return String.join(", ", list);
    }

    /** Passes the answer on and reports the command once it is answered. */
    private final class Recording implements StreamObserver<ControlMessage> {

        private final ControlMessage request;
        private final Identity caller;
        private final String peer;
        private final String api;
        private final StreamObserver<ControlMessage> responses;
        private final long startNanos = System.nanoTime();
        private volatile String answerStatus = "";
        private volatile ControlMessage answer;

        Recording(ControlMessage request, Identity caller, String peer, String api,
                  StreamObserver<ControlMessage> responses) {
            this.request = request;
            this.caller = caller;
            this.peer = peer;
            this.api = api;
            this.responses = responses;
        }

        @Override
        public void onNext(ControlMessage answer) {
            answerStatus = answer.getPayloadOrDefault("status", "");
            this.answer = answer;
            responses.onNext(answer);
        }

        @Override
        public void onError(Throwable t) {
            responses.onError(t);
            report(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            responses.onCompleted();
            report(Status.OK);
        }

        private void report(Status status) {
            try {
                commands.onCommand(caller, withVersions(request, answer), status, answerStatus, peer, api,
                        System.nanoTime() - startNanos);
            } catch (RuntimeException e) {
                logger.error("command listener failed", e);
            }
        }
    }

    /** For a change of the route table, the request as audited: with the version before and after it. */
    private static ControlMessage withVersions(ControlMessage request, ControlMessage answer) {
        if (answer == null || !answer.containsPayload("old_version") || !request.getCommand().startsWith("routes_")) {
            return request;
        }
        return request.toBuilder()
                .putPayload("old_version", answer.getPayloadOrThrow("old_version"))
                .putPayload("new_version", answer.getPayloadOrDefault("version", ""))
                .build();
    }

    /**
     * Answers once {@code answer} completes, on whichever thread completes it: a command that
     * waits for Redis leaves the event loop free meanwhile.
     */
    private static void replyLater(StreamObserver<ControlMessage> responses, String traceId, String command,
                                   CompletionStage<ControlMessage.Builder> answer) {
        answer.whenComplete((done, failure) -> {
            if (failure != null) {
                logger.error("Control {} failed", command, failure);
                responses.onError(Status.INTERNAL.withDescription("Control " + command + " failed")
                        .asRuntimeException());
                return;
            }
            reply(responses, traceId, command, done);
        });
    }

    private static void reply(StreamObserver<ControlMessage> responses, String traceId, String command,
                              ControlMessage.Builder answer) {
        responses.onNext(answer.setTraceId(traceId).setCommand(command + "_response").build());
        responses.onCompleted();
    }

    private static ControlMessage.Builder ok(String message) {
        return ControlMessage.newBuilder().putPayload("status", "ok").putPayload("message", message);
    }

    private static ControlMessage.Builder error(String message) {
        return ControlMessage.newBuilder().putPayload("status", "error").putPayload("message", message);
    }
}
