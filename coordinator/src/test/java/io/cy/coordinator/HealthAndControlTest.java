package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's own Health and Control answers, and what it forwards to sidecars. */
class HealthAndControlTest {

    /** Probes every 50 ms; two bad ones take a sidecar out, two good ones put it back. */
    static final String FAST_PROBES =
            "sidecars: {health: {interval: 50ms, timeout: 50ms, unhealthy_threshold: 2, healthy_threshold: 2}}";
    /** Only the probe at start-up, so the sidecars' last headers are those of the test's own call. */
    static final String ONE_PROBE = "sidecars: {health: {interval: 1h, timeout: 1s}}";
    static final Duration STATE_CHANGE = Duration.ofSeconds(5);
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    static WorkerHealthResponse health(ManagedChannel channel) {
        return AiInferenceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .health(WorkerHealthRequest.newBuilder().setTraceId("health-check").build());
    }

    static ServingStatus grpcHealth(ManagedChannel channel, String service) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    static ControlMessage control(ManagedChannel channel, String command, Map<String, String> payload) {
        return control(channel, "trace-" + command, command, payload, new Metadata());
    }

    static ControlMessage control(ManagedChannel channel, String traceId, String command,
                                  Map<String, String> payload, Metadata headers) {
        return AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setTraceId(traceId).setCommand(command)
                        .putAllPayload(payload).build());
    }

    /** Waits for the start-up probe to reach every sidecar, then forgets it. */
    static void awaitStartupProbe(TestStack stack) throws InterruptedException {
        for (SimulatedSidecar sim : stack.sims) {
            Eventually.await("start-up probe at " + sim, STATE_CHANGE, () -> sim.stats().lastHeaders() != null);
            sim.stats().reset();
        }
    }

    @Nested
    class Health {

        @Test
        void answersHealthyWithItsMetrics() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final WorkerHealthResponse answer = health(stack.coordinatorChannel());

                assertThat(answer.getHealthy()).isTrue();
                assertThat(answer.getMetricsMap())
                        .containsEntry("backend", "java")
                        .containsEntry("sidecars_healthy", "1/1")
                        .containsEntry("sidecars_available", "1")
                        .containsEntry("inflight", "0")
                        .containsKeys("version", "uptime_s")
                        .containsEntry("access_log_dropped", "0");
                assertThat(answer.getMetricsOrThrow("version")).isNotBlank();
                assertThat(answer.getMetricsOrThrow("uptime_s")).matches("\\d+");
                assertThat(grpcHealth(stack.coordinatorChannel(), "cy.llm.AiInference")).isEqualTo(ServingStatus.SERVING);
                assertThat(grpcHealth(stack.coordinatorChannel(), "AiInference")).isEqualTo(ServingStatus.SERVING);
                assertThat(grpcHealth(stack.coordinatorChannel(), "")).isEqualTo(ServingStatus.SERVING);
            }
        }

        @Test
        void inflightCountsOpenStreams() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final InFlightStream stream = InFlightStream.start(stack.coordinatorChannel(),
                        request(10, Map.of("sim.stall_after", "1")), 1);
                assertThat(stream.progress.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

                assertThat(health(stack.coordinatorChannel()).getMetricsMap()).containsEntry("inflight", "1");
            }
        }

        @Test
        void aSidecarReportingUnhealthyFlipsHealthAndBack() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> { }, FAST_PROBES, Map.of())) {
                final ManagedChannel channel = stack.coordinatorChannel();
                assertThat(health(channel).getHealthy()).isTrue();

                stack.sim().setHealthy(false);

                Eventually.await("Health healthy=false", STATE_CHANGE, () -> !health(channel).getHealthy());
                Eventually.await("grpc.health.v1 NOT_SERVING", STATE_CHANGE,
                        () -> grpcHealth(channel, "cy.llm.AiInference") == ServingStatus.NOT_SERVING);
                assertThat(grpcHealth(channel, "AiInference")).isEqualTo(ServingStatus.NOT_SERVING);
                assertThat(health(channel).getMetricsMap())
                        .containsEntry("sidecars_healthy", "0/1")
                        .containsEntry("sidecars_available", "0");

                stack.sim().setHealthy(true);

                Eventually.await("Health healthy=true", STATE_CHANGE, () -> health(channel).getHealthy());
                Eventually.await("grpc.health.v1 SERVING", STATE_CHANGE,
                        () -> grpcHealth(channel, "cy.llm.AiInference") == ServingStatus.SERVING);
                assertThat(grpcHealth(channel, "AiInference")).isEqualTo(ServingStatus.SERVING);
                assertThat(health(channel).getMetricsMap()).containsEntry("sidecars_healthy", "1/1");
                assertThat(call(channel, request(2)).status().isOk()).isTrue();
            }
        }

        @Test
        void aStoppedSidecarFlipsHealth() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> { }, FAST_PROBES, Map.of())) {
                final ManagedChannel channel = stack.coordinatorChannel();
                assertThat(health(channel).getHealthy()).isTrue();

                stack.sim().close();

                Eventually.await("Health healthy=false", STATE_CHANGE, () -> !health(channel).getHealthy());
                Eventually.await("grpc.health.v1 NOT_SERVING", STATE_CHANGE,
                        () -> grpcHealth(channel, "cy.llm.AiInference") == ServingStatus.NOT_SERVING);
                assertThat(control(channel, "list_sidecars", Map.of()).getPayloadMap())
                        .containsEntry("sidecar.0.healthy", "false");
            }
        }

        @Test
        void drainingTheOnlySidecarMakesTheCoordinatorUnhealthy() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final ManagedChannel channel = stack.coordinatorChannel();

                control(channel, "drain_sidecar", Map.of("addr", stack.sim().target()));

                final WorkerHealthResponse answer = health(channel);
                assertThat(answer.getHealthy()).isFalse();
                assertThat(answer.getMetricsMap())
                        .containsEntry("sidecars_healthy", "1/1")
                        .containsEntry("sidecars_available", "0");
            }
        }
    }

    @Nested
    class OwnCommands {

        @Test
        void pingIsAnsweredByTheCoordinator() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final ControlMessage answer = control(stack.coordinatorChannel(), "trace-ping-1", "ping", Map.of(),
                        new Metadata());

                assertThat(answer.getCommand()).isEqualTo("ping_response");
                assertThat(answer.getTraceId()).isEqualTo("trace-ping-1");
                assertThat(answer.getPayloadMap())
                        .containsEntry("status", "ok")
                        .containsEntry("message", "pong")
                        .containsEntry("backend", "java")
                        .containsKey("version");
            }
        }

        @Test
        void aMissingTraceIdIsFilledIn() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final ControlMessage answer = control(stack.coordinatorChannel(), "", "ping", Map.of(), new Metadata());

                assertThat(answer.getTraceId()).isNotBlank();
            }
        }

        @Test
        void listSidecarsShowsEachSidecarsState() throws Exception {
            try (TestStack stack = TestStack.start(dir, 2, sim -> { }, "", Map.of())) {
                final ManagedChannel channel = stack.coordinatorChannel();

                final ControlMessage answer = control(channel, "list_sidecars", Map.of());

                assertThat(answer.getCommand()).isEqualTo("list_sidecars_response");
                assertThat(answer.getPayloadMap())
                        .containsEntry("status", "ok")
                        .containsEntry("count", "2")
                        .containsEntry("sidecar.0.addr", stack.sims.get(0).target())
                        .containsEntry("sidecar.0.healthy", "true")
                        .containsEntry("sidecar.0.draining", "false")
                        .containsEntry("sidecar.0.inflight", "0")
                        .containsEntry("sidecar.1.addr", stack.sims.get(1).target())
                        .containsEntry("sidecar.1.healthy", "true")
                        .containsEntry("sidecar.1.draining", "false")
                        .containsEntry("sidecar.1.inflight", "0");
            }
        }

        @Test
        void drainAndUndrainToggleASidecar() throws Exception {
            try (TestStack stack = TestStack.start(dir, 2, sim -> { }, "", Map.of())) {
                final ManagedChannel channel = stack.coordinatorChannel();
                // Another accepted spelling of the same address.
                final String addr = stack.sims.get(1).target().replace("unix://", "unix:");

                final ControlMessage drained = control(channel, "drain_sidecar", Map.of("addr", addr));

                assertThat(drained.getCommand()).isEqualTo("drain_sidecar_response");
                assertThat(drained.getPayloadMap()).containsEntry("status", "ok");
                assertThat(control(channel, "list_sidecars", Map.of()).getPayloadMap())
                        .containsEntry("sidecar.0.draining", "false")
                        .containsEntry("sidecar.1.draining", "true")
                        .containsEntry("message", "2 sidecars, 1 available");

                final ControlMessage undrained = control(channel, "undrain_sidecar", Map.of("addr", addr));

                assertThat(undrained.getCommand()).isEqualTo("undrain_sidecar_response");
                assertThat(undrained.getPayloadMap()).containsEntry("status", "ok");
                assertThat(control(channel, "list_sidecars", Map.of()).getPayloadMap())
                        .containsEntry("sidecar.1.draining", "false");
            }
        }

        @Test
        void drainWithoutOrWithAnUnknownAddrIsAnErrorNamingAddr() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                final ManagedChannel channel = stack.coordinatorChannel();

                final ControlMessage missing = control(channel, "drain_sidecar", Map.of());
                final ControlMessage unknown = control(channel, "drain_sidecar", Map.of("addr", "unix:///nope.sock"));
                final ControlMessage garbage = control(channel, "undrain_sidecar", Map.of("addr", "not an address"));

                assertThat(missing.getCommand()).isEqualTo("drain_sidecar_response");
                assertThat(missing.getPayloadMap()).containsEntry("status", "error");
                assertThat(missing.getPayloadOrThrow("message")).startsWith("addr: missing")
                        .contains(stack.sim().target());
                assertThat(unknown.getPayloadMap()).containsEntry("status", "error");
                assertThat(unknown.getPayloadOrThrow("message")).startsWith("addr: unix:///nope.sock")
                        .contains(stack.sim().target());
                assertThat(garbage.getPayloadMap()).containsEntry("status", "error");
                assertThat(garbage.getPayloadOrThrow("message")).startsWith("addr: not an address");
                assertThat(stack.coordinator.sidecars().all().get(0).isDraining()).isFalse();
            }
        }

        @Test
        void anEmptyCommandIsInvalidArgumentNamingCommand() throws Exception {
            try (TestStack stack = TestStack.start(dir, sim -> { })) {
                for (String command : List.of("", "   ")) {
                    assertThatThrownBy(() -> control(stack.coordinatorChannel(), command, Map.of()))
                            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                                assertThat(e.getStatus().getDescription()).startsWith("command:");
                            });
                }
            }
        }
    }

    @Nested
    class ForwardedCommands {

        /** Sidecar i serves model "model-i", so a list_models answer says which sidecar gave it. */
        private TestStack startWithNamedSims(int n) throws Exception {
            final AtomicInteger next = new AtomicInteger();
            return TestStack.start(dir, n, sim -> sim.models(List.of("model-" + next.getAndIncrement())),
                    ONE_PROBE, Map.of());
        }

        @Test
        void listModelsReachesTheSidecarAndItsAnswerIsRelayed() throws Exception {
            try (TestStack stack = startWithNamedSims(1)) {
                awaitStartupProbe(stack);

                final ControlMessage answer = control(stack.coordinatorChannel(), "trace-lm", "list_models",
                        Map.of(), new Metadata());

                assertThat(answer.getCommand()).isEqualTo("list_models_response");
                assertThat(answer.getTraceId()).isEqualTo("trace-lm");
                assertThat(answer.getPayloadMap()).containsEntry("status", "ok").containsEntry("models", "model-0");
                assertThat(stack.sim().stats().lastHeaders("Control").get(TRACE_ID)).isEqualTo("trace-lm");
            }
        }

        @Test
        void payloadReachesTheSidecar() throws Exception {
            try (TestStack stack = startWithNamedSims(1)) {
                final ControlMessage known = control(stack.coordinatorChannel(), "unload_model",
                        Map.of("model_id", "model-0"));
                final ControlMessage unknown = control(stack.coordinatorChannel(), "unload_model",
                        Map.of("model_id", "other"));

                assertThat(known.getCommand()).isEqualTo("unload_model_response");
                assertThat(known.getPayloadMap()).containsEntry("status", "ok").containsEntry("message", "unloaded model-0");
                assertThat(unknown.getPayloadMap()).containsEntry("status", "error")
                        .containsEntry("message", "model not found: other");
            }
        }

        @Test
        void anUnknownCommandIsRelayedAsTheSidecarAnswersIt() throws Exception {
            try (TestStack stack = startWithNamedSims(1)) {
                final ControlMessage answer = control(stack.coordinatorChannel(), "trace-x", "warm_cache",
                        Map.of(), new Metadata());

                assertThat(answer.getCommand()).isEqualTo("ACK: warm_cache");
                assertThat(answer.getTraceId()).isEqualTo("trace-x");
            }
        }

        @Test
        void payloadSidecarSelectsTheSidecar() throws Exception {
            try (TestStack stack = startWithNamedSims(2)) {
                final ManagedChannel channel = stack.coordinatorChannel();
                for (int i = 0; i < 4; i++) {
                    assertThat(control(channel, "list_models", Map.of("sidecar", stack.sims.get(1).target()))
                            .getPayloadOrThrow("models")).isEqualTo("model-1");
                    assertThat(control(channel, "list_models", Map.of("sidecar", stack.sims.get(0).target()))
                            .getPayloadOrThrow("models")).isEqualTo("model-0");
                }
            }
        }

        @Test
        void withoutPayloadSidecarCommandsSpreadOverTheSidecars() throws Exception {
            try (TestStack stack = startWithNamedSims(2)) {
                final Set<String> answeredBy = new HashSet<>();
                for (int i = 0; i < 6; i++) {
                    answeredBy.add(control(stack.coordinatorChannel(), "list_models", Map.of()).getPayloadOrThrow("models"));
                }

                assertThat(answeredBy).containsExactlyInAnyOrder("model-0", "model-1");
            }
        }

        @Test
        void anUnknownPayloadSidecarIsAnError() throws Exception {
            try (TestStack stack = startWithNamedSims(2)) {
                awaitStartupProbe(stack);

                final ControlMessage answer = control(stack.coordinatorChannel(), "list_models",
                        Map.of("sidecar", "unix:///tmp/not-configured.sock"));

                assertThat(answer.getCommand()).isEqualTo("list_models_response");
                assertThat(answer.getPayloadMap()).containsEntry("status", "error");
                assertThat(answer.getPayloadOrThrow("message"))
                        .startsWith("sidecar: unix:///tmp/not-configured.sock")
                        .contains(stack.sims.get(0).target(), stack.sims.get(1).target());
                assertThat(stack.sims).allSatisfy(sim -> assertThat(sim.stats().lastHeaders()).isNull());
            }
        }

        @Test
        void anUnreachableSidecarIsUnavailableNamingIt() throws Exception {
            try (TestStack stack = startWithNamedSims(1)) {
                stack.sim().close();

                assertThatThrownBy(() -> control(stack.coordinatorChannel(), "list_models", Map.of()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                            assertThat(e.getStatus().getDescription()).contains(stack.sim().target());
                        });
            }
        }
    }

    @Nested
    class InternalToken {

        private static final String TOKEN = "internal-t0ken";

        @Test
        void controlCarriesTheInternalTokenAndNotTheClients() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), ONE_PROBE,
                    Map.of("CY_LLM_INTERNAL_TOKEN", TOKEN))) {
                awaitStartupProbe(stack);
                final Metadata clientHeaders = new Metadata();
                clientHeaders.put(AUTHORIZATION, "Bearer client-credential");

                final ControlMessage answer = control(stack.coordinatorChannel(), "trace-auth", "list_models",
                        Map.of(), clientHeaders);

                assertThat(answer.getPayloadMap()).containsEntry("status", "ok");
                final Metadata seen = stack.sim().stats().lastHeaders("Control");
                assertThat(seen.getAll(AUTHORIZATION)).containsExactly("Bearer " + TOKEN);
                assertThat(seen.get(TRACE_ID)).isEqualTo("trace-auth");
            }
        }

        @Test
        void streamPredictCarriesTheInternalTokenAndNotTheClients() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), ONE_PROBE,
                    Map.of("CY_LLM_INTERNAL_TOKEN", TOKEN))) {
                awaitStartupProbe(stack);
                final Metadata clientHeaders = new Metadata();
                clientHeaders.put(AUTHORIZATION, "Bearer client-credential");

                final TestStack.Result result = call(stack.coordinatorChannel(), request(2), clientHeaders, null);

                assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
                assertThat(stack.sim().stats().lastHeaders("StreamPredict").getAll(AUTHORIZATION)).containsExactly("Bearer " + TOKEN);
            }
        }

        @Test
        void healthProbesCarryTheInternalToken() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), FAST_PROBES,
                    Map.of("CY_LLM_INTERNAL_TOKEN", TOKEN))) {
                Eventually.await("a probe at the sidecar", STATE_CHANGE, () -> stack.sim().stats().lastHeaders() != null);

                final Metadata probe = stack.sim().stats().lastHeaders();
                assertThat(probe.getAll(AUTHORIZATION)).containsExactly("Bearer " + TOKEN);
                assertThat(probe.containsKey(TRACE_ID)).as("a probe, not a call").isFalse();
                // Probes keep succeeding: several intervals later the sidecar is still in rotation.
                stack.sim().stats().reset();
                Eventually.await("another probe", STATE_CHANGE, () -> stack.sim().stats().lastHeaders() != null);
                stack.sim().stats().reset();
                Eventually.await("yet another probe", STATE_CHANGE, () -> stack.sim().stats().lastHeaders() != null);
                assertThat(health(stack.coordinatorChannel()).getHealthy()).isTrue();
            }
        }

        @Test
        void aSidecarThatRefusesTheInternalTokenGetsNoCallsAndListSidecarsSaysWhy() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), ONE_PROBE,
                    Map.of("CY_LLM_INTERNAL_TOKEN", "not-the-sidecars-token"))) {
                final ManagedChannel channel = stack.coordinatorChannel();

                // One refused probe is enough: every call would be refused the same way.
                Eventually.await("the sidecar out of rotation", STATE_CHANGE,
                        () -> control(channel, "list_sidecars", Map.of()).getPayloadMap()
                                .get("sidecar.0.healthy").equals("false"));
                final Map<String, String> listed = control(channel, "list_sidecars", Map.of()).getPayloadMap();
                assertThat(listed.get("sidecar.0.reason"))
                        .startsWith("refused the internal token (sidecars.internal_token, CY_LLM_INTERNAL_TOKEN): "
                                + "UNAUTHENTICATED");

                final TestStack.Result result = call(channel, request(2));

                assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(result.status().getDescription()).startsWith("no sidecar available")
                        .contains(stack.sim().target() + ": refused the internal token");
                assertThat(stack.sim().stats().lastHeaders("StreamPredict")).as("no call reached the sidecar").isNull();
            }
        }

        @Test
        void aSidecarListedHealthyHasNoReason() throws Exception {
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), ONE_PROBE,
                    Map.of("CY_LLM_INTERNAL_TOKEN", TOKEN))) {
                awaitStartupProbe(stack);

                assertThat(control(stack.coordinatorChannel(), "list_sidecars", Map.of()).getPayloadMap())
                        .containsEntry("sidecar.0.healthy", "true")
                        .containsEntry("sidecar.0.reason", "");
            }
        }

        @Test
        void probesWithoutTheTokenTheSidecarWantsTakeItOut() throws Exception {
            // The counter-check: the sidecar rejects probes that lack its token.
            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(TOKEN), FAST_PROBES, Map.of())) {
                Eventually.await("Health healthy=false", STATE_CHANGE,
                        () -> !health(stack.coordinatorChannel()).getHealthy());
            }
        }
    }
}
