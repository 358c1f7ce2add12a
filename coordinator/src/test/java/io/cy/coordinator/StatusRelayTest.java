package io.cy.coordinator;

import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A sidecar's status code and description reach the client unchanged, before and after the first chunk. */
class StatusRelayTest {

    @TempDir
    static Path dir;

    private static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, sim -> { });
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @ParameterizedTest(name = "{0} after {1} chunks")
    @CsvSource({
            "INVALID_ARGUMENT, 0", "INVALID_ARGUMENT, 3",
            "NOT_FOUND, 0", "NOT_FOUND, 3",
            "RESOURCE_EXHAUSTED, 0", "RESOURCE_EXHAUSTED, 3",
            "UNAVAILABLE, 0", "UNAVAILABLE, 3",
            "INTERNAL, 0", "INTERNAL, 3",
            "PERMISSION_DENIED, 1", "DEADLINE_EXCEEDED, 2",
    })
    void relaysTheSidecarsStatus(Status.Code code, int after) throws Exception {
        final StreamPredictRequest request = request(10,
                Map.of("sim.fail", code.name(), "sim.fail_after", String.valueOf(after)));

        final Result direct = call(stack.directChannel(), request);
        final Result through = call(stack.coordinatorChannel(), request);

        assertThat(direct.status().getCode()).isEqualTo(code);
        assertThat(through.status().getCode()).isEqualTo(code);
        assertThat(through.status().getDescription()).isEqualTo(direct.status().getDescription()).isNotBlank();
        assertThat(through.chunks()).hasSize(after);
        assertThat(through.responses()).noneMatch(r -> r.getEndOfStream());
    }

    @Test
    void relaysTheWorkersOwnRejection(@TempDir Path otherDir) throws Exception {
        try (TestStack withModels = TestStack.start(otherDir, sim -> sim.models(List.of("llama-3-8b")))) {
            final Result result = call(withModels.coordinatorChannel(),
                    request(2).toBuilder().setModelId("no-such-model").build());

            assertThat(result.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(result.status().getDescription()).isEqualTo("model not found: no-such-model");
        }
    }
}
