package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the sidecars of configured backends what they serve: Control {@code list_models}, whose
 * answer lists {@code models} and, when the sidecar says so, the {@code adapters} it has loaded
 * (both comma-separated). The models count for backends without a {@code models} list; the
 * adapters for all, to send a call to a sidecar that has its adapter loaded. Runs on the health prober's thread; the
 * answers are recorded in the {@link Catalog} as they arrive. A sidecar that does not answer
 * keeps what it said last.
 */
public final class ModelDiscovery {

    private static final Logger logger = LoggerFactory.getLogger(ModelDiscovery.class);

    private final SidecarPool pool;
    private final Routing routing;
    private final Metadata headers;
    private final Duration timeout;

    /**
     * @param headers metadata sent with each question (the internal token)
     * @param timeout how long an answer may take
     */
    public ModelDiscovery(SidecarPool pool, Routing routing, Metadata headers, Duration timeout) {
        this.pool = requireNonNull(pool, "pool");
        this.routing = requireNonNull(routing, "routing");
        this.headers = requireNonNull(headers, "headers");
        this.timeout = requireNonNull(timeout, "timeout");
    }

    /** Asks every configured backend's sidecars, without waiting for the answers. */
    public void discoverAll() {
        ask();
    }

    /** Asks every configured backend's sidecars and waits up to the timeout for the answers: at startup. */
    public void discoverAllAndWait() {
        for (ListenableFuture<ControlMessage> answer : ask()) {
            try {
                answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                // Logged by the callback; the next interval asks again.
            }
        }
    }

    private List<ListenableFuture<ControlMessage>> ask() {
        final List<ListenableFuture<ControlMessage>> answers = new ArrayList<>();
        for (BackendSpec backend : routing.active().backends()) {
            if (backend.servesAny()) {
                // The single pool of a configuration without backends: nothing to learn.
                continue;
            }
            for (Sidecar sidecar : pool.backend(backend.id())) {
                try {
                    answers.add(ask(sidecar));
                } catch (RuntimeException e) {
                    logger.warn("list_models to sidecar {} could not start", sidecar, e);
                }
            }
        }
        return answers;
    }

    private ListenableFuture<ControlMessage> ask(Sidecar sidecar) {
        final ListenableFuture<ControlMessage> answer = AiInferenceGrpc.newFutureStub(sidecar.probeChannel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                .control(ControlMessage.newBuilder().setCommand("list_models").build());
        Futures.addCallback(answer, new FutureCallback<ControlMessage>() {
            @Override
            public void onSuccess(ControlMessage reply) {
                if ("error".equals(reply.getPayloadOrDefault("status", ""))) {
                    logger.warn("sidecar {} answered list_models with an error: {}", sidecar,
                            reply.getPayloadOrDefault("message", ""));
                    return;
                }
                final List<String> models = split(reply.getPayloadOrDefault("models", ""));
                final List<String> adapters = split(reply.getPayloadOrDefault("adapters", ""));
                if (routing.catalog().record(sidecar, models, adapters)) {
                    logger.info("sidecar {} of backend {} serves models {} (adapters loaded: {})", sidecar,
                            pool.backendOf(sidecar), models, adapters);
                }
            }

            @Override
            public void onFailure(Throwable t) {
                logger.debug("list_models to sidecar {} failed", sidecar, t);
            }
        }, MoreExecutors.directExecutor());
        return answer;
    }

    private static List<String> split(String list) {
        return list.isBlank() ? List.of() : Arrays.asList(list.split(","));
    }
}
