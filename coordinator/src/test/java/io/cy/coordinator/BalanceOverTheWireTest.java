package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The balancing policies as configured, through the coordinator: a backend's {@code balance}
 * reaches its router, and the call's prompt and sticky key reach the policy. Two backends of
 * three simulated sidecars each: {@code cache} (prefix_affinity) and {@code chat}
 * (session_affinity, sticky by session).
 */
class BalanceOverTheWireTest {

    private static final Metadata.Key<String> SESSION = Metadata.Key.of("x-session-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        stack = TestStack.start(dir, 6, sim -> sim.models(List.of("m")), """
                backends:
                  - id: cache
                    addresses: ["unix://%1$s/sidecar-0.sock", "unix://%1$s/sidecar-1.sock", "unix://%1$s/sidecar-2.sock"]
                    models: [{id: m}]
                    balance: prefix_affinity
                    affinity_prefix_bytes: 256
                  - id: chat
                    addresses: ["unix://%1$s/sidecar-3.sock", "unix://%1$s/sidecar-4.sock", "unix://%1$s/sidecar-5.sock"]
                    models: [{id: m}]
                    balance: session_affinity
                routes:
                  aliases:
                    default: {backend: cache, model: m}
                    chat: {backend: chat, model: m}
                  sticky_key: session
                """.formatted(dir), Map.of());
        channel = stack.coordinatorChannel();
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    private String servedBy(String modelId, String prompt, Metadata headers) throws Exception {
        final StreamPredictRequest call = request(2).toBuilder().setModelId(modelId).setPrompt(prompt).build();
        final Result result = TestStack.call(channel, call, headers, null);
        assertThat(result.status().getCode()).as(result.status().toString()).isEqualTo(Status.Code.OK);
        final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(summary).isNotNull();
        assertThat(summary.sidecar()).isNotEmpty();
        return summary.sidecar();
    }

    @Test
    void promptsThatShareASystemPromptStayOnTheSidecarThatServedItFirst() throws Exception {
        final Map<Integer, String> placement = new HashMap<>();
        for (int round = 0; round < 4; round++) {
            for (int system = 0; system < 12; system++) {
                final String prompt = ("System: you are assistant number " + system + ". ").repeat(8)
                        + "\nUser: question " + round + "\nAssistant:";
                final String sidecar = servedBy("", prompt, new Metadata());
                final String first = placement.putIfAbsent(system, sidecar);
                if (first != null) {
                    assertThat(sidecar).as("system prompt %d in round %d", system, round).isEqualTo(first);
                }
            }
        }
        // Twelve prefixes over three idle sidecars: the first placements spread, not all on one.
        assertThat(new HashSet<>(placement.values())).hasSizeGreaterThan(1);
    }

    @Test
    void aSessionStaysOnOneSidecarAndSessionsSpread() throws Exception {
        final Set<String> used = new HashSet<>();
        for (int session = 0; session < 12; session++) {
            final Metadata headers = new Metadata();
            headers.put(SESSION, "session-" + session);
            final String first = servedBy("chat", "User: hi " + session + "\nAssistant:", headers);
            used.add(first);
            for (int again = 0; again < 3; again++) {
                assertThat(servedBy("chat", "User: more " + again + "\nAssistant:", headers))
                        .as("session %d, call %d", session, again + 2).isEqualTo(first);
            }
        }
        assertThat(used).hasSizeGreaterThan(1);
    }
}
