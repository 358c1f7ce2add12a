package io.cy.coordinator.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EndpointTest {

    @ParameterizedTest
    @ValueSource(strings = {"/tmp/cy_worker_8001.sock", "unix:///tmp/cy_worker_8001.sock", "unix:/tmp/cy_worker_8001.sock",
            " /tmp/cy_worker_8001.sock "})
    void aPlainAbsolutePathIsAUnixSocketLikeTheSchemeForms(String text) {
        final Endpoint endpoint = Endpoint.parse(text);

        assertThat(endpoint.isUnix()).isTrue();
        assertThat(endpoint.socketPath()).isEqualTo(Path.of("/tmp/cy_worker_8001.sock"));
        assertThat(endpoint).hasToString("unix:///tmp/cy_worker_8001.sock");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tmp/cy_worker.sock", "./cy_worker.sock", "../run/cy_worker.sock"})
    void aRelativePathIsRefusedAsNotAbsolute(String text) {
        assertThatThrownBy(() -> Endpoint.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(text + " (expected: an absolute socket path such as /tmp/cy_sidecar.sock, or host:port)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost:50051", "[::1]:50051", "dns:///localhost:50051"})
    void hostAndPortFormsAreStillTcp(String text) {
        assertThat(Endpoint.parse(text).isUnix()).isFalse();
        assertThat(Endpoint.parse(text).port()).isEqualTo(50051);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/tmp/w1.sock,/tmp/w2.sock", "/tmp/w1.sock, unix:///tmp/w2.sock"})
    void aListMayMixPlainPathsWithOtherForms(String text) {
        assertThat(Endpoint.parseList(text)).extracting(Endpoint::toString)
                .containsExactly("unix:///tmp/w1.sock", "unix:///tmp/w2.sock");
    }

    @org.junit.jupiter.api.Test
    void aDnsNameKeepsItsFormAndStandsForItsAddresses() throws Exception {
        final Endpoint name = Endpoint.parse("dns:///workers.ns.svc:50051");
        assertThat(name.isDns()).isTrue();
        assertThat(name.toString()).isEqualTo("dns:///workers.ns.svc:50051");
        assertThat(name.hostPort()).isEqualTo("workers.ns.svc:50051");
        assertThat(name).isNotEqualTo(Endpoint.parse("workers.ns.svc:50051"));
        final Endpoint one = name.resolved(java.net.InetAddress.getByName("10.1.2.3"));
        assertThat(one.isDns()).isFalse();
        assertThat(one.toString()).isEqualTo("10.1.2.3:50051");
        assertThat(name.resolved(java.net.InetAddress.getByName("::1")).toString()).isEqualTo("[0:0:0:0:0:0:0:1]:50051");
    }
}
