package io.cy.coordinator;

import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.Status;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The optional Unix socket listener (COORDINATOR_UDS_PATH) and the life cycle of its socket file. */
class UnixListenerTest {

    @TempDir
    Path dir;

    private Path socket() {
        return dir.resolve("coordinator.sock");
    }

    private TestStack startWithUnixListener(String udsPath) throws IOException {
        return TestStack.start(dir, 1, sim -> { }, "", Map.of("COORDINATOR_UDS_PATH", udsPath));
    }

    /** A coordinator config whose sidecar need not exist: channels connect lazily. */
    private CoordinatorConfig configWithUnixListener() {
        return ConfigLoader.fromYaml("auth: {mode: none}\nhttp: {addr: \"\"}\naudit: {enabled: false}", Map.of(
                "SIDECAR_GRPC_ADDR", "unix://" + dir.resolve("no-sidecar.sock"),
                "COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                "COORDINATOR_UDS_PATH", "unix://" + socket())).config();
    }

    private static void assertStartFails(CoordinatorConfig config, String... messageParts) {
        assertThatThrownBy(() -> {
            // Should it start after all, close it so the test leaves nothing behind.
            Coordinator.start(config, summary -> { }).close();
        }).isInstanceOf(IOException.class).hasMessageContainingAll(messageParts);
    }

    @Test
    void streamPredictWorksOverTheUnixSocket() throws Exception {
        try (TestStack stack = startWithUnixListener("unix://" + socket())) {
            final var channel = stack.channel(Endpoint.unix(socket()));

            final Result result = call(channel, request(16));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(16);
            assertThat(result.responses().get(result.responses().size() - 1).getEndOfStream()).isTrue();
            assertThat(stack.sim().stats().callsSucceeded()).isEqualTo(1);
            assertThat(AiInferenceGrpc.newBlockingStub(channel).health(WorkerHealthRequest.getDefaultInstance())
                    .getHealthy()).isTrue();
        }
    }

    @Test
    void thePlainPathFormOfTheOpenSourceCoordinatorWorks() throws Exception {
        // The gateway's deployment sets COORDINATOR_UDS_PATH=/tmp/cy_coordinator.sock (no scheme).
        try (TestStack stack = startWithUnixListener(socket().toString())) {
            final Result result = call(stack.channel(Endpoint.unix(socket())), request(4));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(4);
        }
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        // What a killed process leaves behind: Java does not unlink the file when the channel closes.
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket()));
        }
        assertThat(socket()).exists();

        try (TestStack stack = startWithUnixListener("unix://" + socket())) {
            final Result result = call(stack.channel(Endpoint.unix(socket())), request(3));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(3);
        }
    }

    @Test
    void aSocketSomeoneListensOnIsNotStolen() throws Exception {
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(socket()));

            assertStartFails(configWithUnixListener(), socket().toString(), "listening");

            assertThat(socket()).exists();
            assertThat(UnixSocketFiles.isListening(socket())).as("the other listener still owns the socket").isTrue();
        }
    }

    @Test
    void aRegularFileAtThePathIsLeftAlone() throws Exception {
        Files.writeString(socket(), "precious data");

        assertStartFails(configWithUnixListener(), socket().toString(), "not a socket");

        assertThat(socket()).isRegularFile().hasContent("precious data");
    }

    @Test
    void aMissingDirectoryIsNamed() {
        final Path nowhere = dir.resolve("missing-dir").resolve("c.sock");
        final CoordinatorConfig config = ConfigLoader.fromYaml("auth: {mode: none}\nhttp: {addr: \"\"}\naudit: {enabled: false}", Map.of(
                "SIDECAR_GRPC_ADDR", "unix://" + dir.resolve("no-sidecar.sock"),
                "COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                "COORDINATOR_UDS_PATH", "unix://" + nowhere)).config();

        assertStartFails(config, nowhere.getParent().toString(), "does not exist");
    }

    @Test
    void theSocketFileIsRemovedOnClose() throws Exception {
        final TestStack stack = startWithUnixListener("unix://" + socket());
        try {
            assertThat(socket()).exists();
            assertThat(UnixSocketFiles.isListening(socket())).isTrue();
        } finally {
            stack.close();
        }

        assertThat(socket()).doesNotExist();
    }

    @Test
    void aCoordinatorCanRestartOnTheSamePath() throws Exception {
        try (TestStack first = startWithUnixListener("unix://" + socket())) {
            assertThat(call(first.channel(Endpoint.unix(socket())), request(1)).status().isOk()).isTrue();
        }
        try (TestStack second = startWithUnixListener("unix://" + socket())) {
            assertThat(call(second.channel(Endpoint.unix(socket())), request(1)).status().isOk()).isTrue();
        }
    }
}
