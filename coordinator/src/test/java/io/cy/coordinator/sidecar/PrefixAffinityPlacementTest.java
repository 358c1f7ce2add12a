package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefix affinity over real simulated sidecars on Unix sockets: calls that share a system prompt
 * reach the same sidecar process, and different system prompts spread over all of them.
 */
class PrefixAffinityPlacementTest {

    private static final int SIDECARS = 3;
    private static final int SYSTEM_PROMPTS = 6;

    @TempDir
    Path dir;

    private final List<SimulatedSidecar> sims = new ArrayList<>();
    private final NettyTransport transport = NettyTransport.create(2, "placement-test");
    private SidecarPool pool;

    @AfterEach
    void close() {
        if (pool != null) {
            pool.close(Duration.ofSeconds(5));
        }
        transport.close();
        sims.forEach(SimulatedSidecar::close);
    }

    @Test
    void callsSharingASystemPromptReachTheSameSidecar() throws Exception {
        for (int i = 0; i < SIDECARS; i++) {
            sims.add(SimulatedSidecar.start(SimConfig.builder().listen("unix://" + dir.resolve("s" + i + ".sock")).build()));
        }
        final CoordinatorConfig config = ConfigLoader.fromYaml("", Map.of("CY_AUTH_MODE", "none",
                "SIDECAR_GRPC_ADDR", sims.stream().map(SimulatedSidecar::target).collect(Collectors.joining(","))))
                .config();
        pool = SidecarPool.connect(config.sidecars(), transport, new PrefixAffinityRouter(1024, 8));
        final Map<Integer, String> servedBy = new HashMap<>();

        for (int round = 0; round < 4; round++) {
            for (int s = 0; s < SYSTEM_PROMPTS; s++) {
                final String prompt = "System: you are the assistant of team " + s + ". " + "Keep answers short. ".repeat(10)
                        + "\nUser: question " + round + "\nAssistant:";
                final String sim = callThroughThePool(prompt);
                assertThat(servedBy.computeIfAbsent(s, k -> sim)).as("system prompt %d, round %d", s, round)
                        .isEqualTo(sim);
            }
        }

        assertThat(new HashSet<>(servedBy.values())).hasSize(SIDECARS);
        assertThat(sims.stream().mapToLong(sim -> sim.stats().callsSucceeded()).sum())
                .isEqualTo(4L * SYSTEM_PROMPTS);
    }

    /** Makes one call on the sidecar the pool picks; returns the target of the simulator that answered it. */
    private String callThroughThePool(String prompt) throws Exception {
        final Sidecar sidecar = pool.acquire(List.of(), new RoutingKey("", prompt, ""));
        try {
            final CompletableFuture<Status> done = new CompletableFuture<>();
            final StreamObserver<StreamPredictRequest> requests = AiInferenceGrpc.newStub(sidecar.channel())
                    .streamPredict(new StreamObserver<>() {
                        @Override
                        public void onNext(StreamPredictResponse value) {}

                        @Override
                        public void onError(Throwable t) {
                            done.complete(Status.fromThrowable(t));
                        }

                        @Override
                        public void onCompleted() {
                            done.complete(Status.OK);
                        }
                    });
            requests.onNext(StreamPredictRequest.newBuilder().setModelId("sim").setPrompt(prompt)
                    .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(2)).build());
            requests.onCompleted();
            assertThat(done.get(20, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
        } finally {
            sidecar.release();
        }
        for (SimulatedSidecar sim : sims) {
            if (sim.stats().lastRequest() != null && sim.stats().lastRequest().getPrompt().equals(prompt)) {
                assertThat(sim.endpoint()).as("the simulator behind the sidecar picked").isEqualTo(sidecar.endpoint());
                return sim.target();
            }
        }
        throw new AssertionError("no simulator saw the prompt");
    }
}
