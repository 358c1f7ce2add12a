package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Without backends, one backend "default" serves any model id and passes it on untouched. */
class SinglePoolRoutingTest {

    private static final Metadata.Key<String> CY_BACKEND = Metadata.Key.of("cy-backend", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_MODEL = Metadata.Key.of("cy-model", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    private TestStack stack;

    @BeforeEach
    void start() throws Exception {
        stack = TestStack.start(dir, sim -> { });
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    @Test
    void anyModelIdReachesTheSidecarAsSent() throws Exception {
        for (String model : List.of("sim", "Qwen/Qwen2.5-7B", "default", "")) {
            stack.summaries.clear();
            final Result result = call(stack.coordinatorChannel(), request(2).toBuilder().setModelId(model).build());

            assertThat(result.status().getCode()).as(model).isEqualTo(Status.Code.OK);
            assertThat(stack.sim().stats().lastRequest().getModelId()).isEqualTo(model);
            assertThat(result.headers().get(CY_BACKEND)).isEqualTo("default");
            assertThat(result.headers().get(CY_MODEL)).isEqualTo(model.isEmpty() ? null : model);
            final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(summary.model()).isEqualTo(model);
            assertThat(summary.backend()).isEqualTo("default");
        }
    }
}
