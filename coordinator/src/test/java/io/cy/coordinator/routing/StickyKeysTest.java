package io.cy.coordinator.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;
import org.junit.jupiter.api.Test;

/** The sticky key of each kind: tenant, session (extra, then header), none. */
class StickyKeysTest {

    private static StreamPredictRequest withSession(String session) {
        final StreamMetadata.Builder metadata = StreamMetadata.newBuilder();
        if (session != null) {
            metadata.putExtra("session_id", session);
        }
        return StreamPredictRequest.newBuilder().setMetadata(metadata).build();
    }

    private static Metadata header(String session) {
        final Metadata headers = new Metadata();
        headers.put(StickyKeys.SESSION_HEADER, session);
        return headers;
    }

    @Test
    void tenantIsTheCallsTenant() {
        assertThat(StickyKeys.of(StickyKey.TENANT, "acme", withSession("s-1"), header("h-1"))).isEqualTo("acme");
    }

    @Test
    void sessionIsTheExtraElseTheHeaderElseNothing() {
        assertThat(StickyKeys.of(StickyKey.SESSION, "acme", withSession("s-1"), header("h-1"))).isEqualTo("s-1");
        assertThat(StickyKeys.of(StickyKey.SESSION, "acme", withSession(null), header("h-1"))).isEqualTo("h-1");
        assertThat(StickyKeys.of(StickyKey.SESSION, "acme", withSession(null), new Metadata())).isEmpty();
    }

    @Test
    void noneIsEmpty() {
        assertThat(StickyKeys.of(StickyKey.NONE, "acme", withSession("s-1"), header("h-1"))).isEmpty();
    }
}
