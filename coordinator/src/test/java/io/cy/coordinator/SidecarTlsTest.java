package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.transport.netty.DevCerts;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sidecars.tls}: a TCP sidecar serving TLS (the simulator with the dev CA's server pair,
 * on grpc-java's TLS server) is reached over TLS by StreamPredict, health probes and forwarded
 * Control alike; without the CA, or with a name its certificate does not carry, it is not.
 */
class SidecarTlsTest {

    @TempDir
    Path dir;

    private TestStack start(DevCerts certs, Map<String, String> env) throws Exception {
        return TestStack.start(dir, 1, sim -> sim.listen("127.0.0.1:0").tls(certs.serverCert(), certs.serverKey()),
                "sidecars: {health: {interval: 100ms, timeout: 100ms, unhealthy_threshold: 1, healthy_threshold: 1}}",
                env);
    }

    @Test
    void aTlsSidecarServesEveryKindOfCall() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, Map.of("CY_SIDECARS_TLS_CA_FILE", certs.ca().toString(),
                "CY_SIDECARS_TLS_CERT_FILE", certs.clientCert().toString(),
                "CY_SIDECARS_TLS_KEY_FILE", certs.clientKey().toString()))) {

            final Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(3));
            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(3);

            // Forwarded Control and health probes go over grpc-java's channel, TLS too.
            final ControlMessage models = AiInferenceGrpc.newBlockingStub(stack.coordinatorChannel())
                    .control(ControlMessage.newBuilder().setCommand("list_models").build());
            assertThat(models.getCommand()).isEqualTo("list_models_response");
            Eventually.await("the sidecar probed healthy over TLS", TestStack.TIMEOUT,
                    () -> AuthCalls.health(stack.coordinatorChannel(), AuthCalls.noCredential()).getHealthy());
        }
    }

    @Test
    void withoutTheCaTheSidecarIsUnreachable() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, Map.of())) {
            final Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(3));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(result.status().getDescription()).contains(stack.sim().target());
            assertThat(stack.sim().stats().lastRequest()).isNull();
        }
    }

    @Test
    void aServerNameTheCertificateDoesNotCarryIsRefused() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, Map.of("CY_SIDECARS_TLS_CA_FILE", certs.ca().toString(),
                "CY_SIDECARS_TLS_SERVER_NAME", "sidecar.example.com"))) {
            final Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(3));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(result.status().getDescription()).containsIgnoringCase("sidecar.example.com");
            assertThat(stack.sim().stats().lastRequest()).isNull();
        }
    }
}
