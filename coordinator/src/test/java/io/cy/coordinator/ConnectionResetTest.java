package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client that resets its connection is an ordinary event: counted, logged at DEBUG, never a stack trace. */
class ConnectionResetTest {

    private static final int RESETS = 5;
    private static final int MAX_CLIENTS = 500;

    @TempDir
    Path dir;

    @Test
    void resetConnectionsAreCountedAndLoggedWithoutAWarning() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "", Map.of());
                LogCapture log = LogCapture.start(Level.DEBUG)) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final long before = AuditSetup.metric(channel, "connection_io_errors");
            final InetSocketAddress address = (InetSocketAddress) stack.coordinator.grpcEndpoint().socketAddress();

            // when: clients start HTTP/2, then reset their connections (SO_LINGER 0 sends RST).
            // Whether the server's read sees the reset or only the end of the stream depends on
            // timing, so clients reset until enough resets were seen, within a bound.
            long seen = 0;
            for (int i = 0; i < MAX_CLIENTS && seen < RESETS; i++) {
                resetAfterSettings(address);
                seen = AuditSetup.metric(channel, "connection_io_errors") - before;
            }

            // then: each reset is counted, and logged at DEBUG without a stack trace
            assertThat(seen).as("resets seen by the server").isGreaterThanOrEqualTo(RESETS);
            final long counted = AuditSetup.metric(channel, "connection_io_errors") - before;
            assertThat(log.lines()).filteredOn(line -> line.startsWith("WARN") || line.startsWith("ERROR"))
                    .as("no warning for a reset connection").isEmpty();
            assertThat(log.lines()).filteredOn(line -> line.contains("connection from /127.0.0.1"))
                    .hasSize((int) counted)
                    .allSatisfy(line -> assertThat(line).startsWith("DEBUG").contains("Connection reset by peer")
                            .doesNotContain("\n\tat "));

            // and: the coordinator keeps serving
            assertThat(TestStack.call(channel, TestStack.request(4)).status().getCode()).isEqualTo(Status.Code.OK);
        }
    }

    private static void resetAfterSettings(InetSocketAddress address) throws Exception {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            final OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
            out.flush();
            // The server's SETTINGS arrive: the connection is established on its side.
            assertThat(socket.getInputStream().read()).isNotNegative();
            socket.setSoLinger(true, 0);
        }
    }
}
