package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the listen addresses' settings turn on and off, and how a port already taken is told. */
class ListenerSettingsTest {

    @TempDir
    Path dir;

    @Test
    void anEmptyCoordinatorHttpAddrStartsNoHttpListener() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "", Map.of("COORDINATOR_HTTP_ADDR", ""))) {
            assertThat(stack.coordinator.httpEndpoint()).isNull();
            assertThat(stack.coordinator.grpcEndpoint().port()).isPositive();
        }
    }

    @Test
    void aTakenHttpPortIsNamedOnce() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            final String where = "127.0.0.1:" + taken.getLocalPort();

            assertThatThrownBy(() -> TestStack.start(dir, 1, sim -> { }, "",
                    Map.of("COORDINATOR_HTTP_ADDR", where)).close())
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot listen on " + where + ": ")
                    .satisfies(e -> assertThat(e.getMessage().indexOf("cannot listen on", 1)).isEqualTo(-1));
        }
    }

    @Test
    void aTakenGrpcPortIsNamedOnce() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            final String where = "127.0.0.1:" + taken.getLocalPort();

            assertThatThrownBy(() -> TestStack.start(dir, 1, sim -> { }, "",
                    Map.of("COORDINATOR_GRPC_ADDR", where)).close())
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot listen on " + where + ": ")
                    .satisfies(e -> assertThat(e.getMessage().indexOf("cannot listen on", 1)).isEqualTo(-1));
        }
    }
}
