package io.cy.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimConfigTest {

    @Test
    void defaults() {
        final SimConfig config = SimConfig.builder().build();

        assertThat(config.listen().toString()).isEqualTo("127.0.0.1:0");
        assertThat(config.timeToFirstToken()).isEqualTo(Duration.ZERO);
        assertThat(config.tokenGap()).isEqualTo(Duration.ZERO);
        assertThat(config.models()).isEmpty();
        assertThat(config.internalToken()).isNull();
        assertThat(config.failStatus()).isNull();
        assertThat(config.failAfter()).isZero();
        assertThat(config.stallAfter()).isEqualTo(-1);
        assertThat(config.refuseConnections()).isFalse();
        assertThat(config.maxPromptBytes()).isEqualTo(1 << 20);
        assertThat(config.defaultMaxNewTokens()).isEqualTo(16);
        assertThat(config.threads()).isEqualTo(2);
        assertThat(config.chunkBytes()).isZero();
    }

    @Test
    void toBuilderKeepsEverySetting() {
        final SimConfig config = SimConfig.builder()
                .listen("unix:///tmp/x.sock")
                .timeToFirstToken(Duration.ofMillis(5))
                .tokenGap(Duration.ofMillis(1))
                .models(List.of("a"))
                .internalToken("t")
                .failStatus(Status.Code.INTERNAL)
                .failAfter(2)
                .stallAfter(3)
                .refuseConnections(true)
                .maxPromptBytes(10)
                .defaultMaxNewTokens(4)
                .threads(1)
                .chunkBytes(8)
                .build();

        assertThat(config.toBuilder().build().toString()).isEqualTo(config.toString());
    }

    @Test
    void toStringHidesTheToken() {
        assertThat(SimConfig.builder().internalToken("s3cret").build().toString())
                .doesNotContain("s3cret")
                .contains("internalToken=<set>");
    }

    @Test
    void invalidSettingsAreNamed() {
        assertInvalid(SimConfig.builder().listen("nowhere"), "listen: nowhere (expected: host:port)");
        assertInvalid(SimConfig.builder().timeToFirstToken(Duration.ofMillis(-1)),
                "timeToFirstToken: PT-0.001S (expected: >= 0)");
        assertInvalid(SimConfig.builder().models(List.of("a", " ")), "models: [a,  ] (expected: non-blank model ids)");
        assertInvalid(SimConfig.builder().internalToken(""),
                "internalToken: empty (expected: a non-empty token, or null for no auth)");
        assertInvalid(SimConfig.builder().failStatus(Status.Code.OK),
                "failStatus: OK (expected: a non-OK code, or null)");
        assertInvalid(SimConfig.builder().failStatus(Status.Code.INTERNAL).failAfter(-2),
                "failAfter: -2 (expected: >= 0)");
        assertInvalid(SimConfig.builder().failAfter(3), "failAfter: 3 (expected: 0 unless failStatus is set)");
        assertInvalid(SimConfig.builder().stallAfter(-2), "stallAfter: -2 (expected: >= 0, or -1 for never)");
        assertInvalid(SimConfig.builder().maxPromptBytes(0), "maxPromptBytes: 0 (expected: > 0)");
        assertInvalid(SimConfig.builder().defaultMaxNewTokens(0), "defaultMaxNewTokens: 0 (expected: > 0)");
        assertInvalid(SimConfig.builder().threads(0), "threads: 0 (expected: > 0)");
        assertInvalid(SimConfig.builder().chunkBytes(-1), "chunkBytes: -1 (expected: >= 0)");
    }

    private static void assertInvalid(SimConfig.Builder builder, String message) {
        assertThatThrownBy(builder::build).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }
}
