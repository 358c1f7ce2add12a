package io.cy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The sidecar contract over TCP on an ephemeral port. */
class TcpSidecarTest extends SidecarContractTest {

    @Override
    String listen(Path dir) {
        return "127.0.0.1:0";
    }

    @Test
    void targetNamesTheActualPort() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());

        assertThat(sim.endpoint().port()).isPositive();
        assertThat(sim.target()).isEqualTo("127.0.0.1:" + sim.endpoint().port());
    }
}
