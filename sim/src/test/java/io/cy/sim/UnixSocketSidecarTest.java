package io.cy.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The sidecar contract over a Unix domain socket, plus the socket file's life cycle. */
class UnixSocketSidecarTest extends SidecarContractTest {

    @Override
    String listen(Path dir) {
        return "unix://" + socket(dir);
    }

    private static Path socket(Path dir) {
        return dir.resolve("sim.sock");
    }

    @Test
    void socketFileLivesAsLongAsTheSidecar() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        assertThat(sim.target()).isEqualTo("unix://" + socket(dir));
        assertThat(socket(dir)).exists();

        sim.close();

        assertThat(socket(dir)).doesNotExist();
    }

    @Test
    void staleSocketFileIsTakenOver() throws Exception {
        // A socket left behind by a process that died: Java does not unlink it on close.
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket(dir)));
        }
        assertThat(socket(dir)).exists();

        final SimulatedSidecar sim = start(SimConfig.builder());

        assertThat(call(channel(sim), request("hi", 1, java.util.Map.of())).awaitStatus(TIMEOUT).isOk()).isTrue();
    }

    @Test
    void refusesToReplaceARegularFile() throws Exception {
        Files.writeString(socket(dir), "not a socket");

        assertThatThrownBy(() -> start(SimConfig.builder()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("is not a socket");
        assertThat(socket(dir)).hasContent("not a socket");
    }

    @Test
    void refusingSidecarRemovesItsSocketToo() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().refuseConnections(true));
        assertThat(socket(dir)).exists();

        sim.close();

        assertThat(socket(dir)).doesNotExist();
    }
}
