package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditEventTest {

    private static final Instant END = Instant.parse("2026-11-22T10:15:30.123456789Z");

    @Test
    void promptIsKeptAsThePolicySays() {
        final String prompt = "User: Hello\nAssistant:";
        final AuditEvent none = builder().prompt(prompt, AuditConfig.StorePrompts.NONE).build();
        assertThat(none.prompt()).isEmpty();
        assertThat(none.promptSha256()).isEmpty();

        final AuditEvent hashed = builder().prompt(prompt, AuditConfig.StorePrompts.SHA256).build();
        assertThat(hashed.prompt()).isEmpty();
        // printf 'User: Hello\nAssistant:' | sha256sum
        assertThat(hashed.promptSha256()).isEqualTo("b7ec38c9c041dd479764963fa4cd17841b0e2dbaa0af535667a42d81f89dcf5b");

        final AuditEvent full = builder().prompt(prompt, AuditConfig.StorePrompts.FULL).build();
        assertThat(full.prompt()).isEqualTo(prompt);
        assertThat(full.promptSha256()).isEmpty();
    }

    @Test
    void secretLookingPayloadValuesAreRedacted() {
        final AuditEvent e = AuditEvent.builder(AuditEvent.Kind.CONTROL).endTime(END)
                .payload(Map.of("addr", "unix:///s.sock", "api_key", "k", "Authorization", "Bearer x",
                        "db_password", "p", "client_secret", "s", "model_id", "m"))
                .build();
        assertThat(e.payload()).containsExactly(
                Map.entry("Authorization", AuditEvent.REDACTED),
                Map.entry("addr", "unix:///s.sock"),
                Map.entry("api_key", AuditEvent.REDACTED),
                Map.entry("client_secret", AuditEvent.REDACTED),
                Map.entry("db_password", AuditEvent.REDACTED),
                Map.entry("model_id", "m"));
        assertThat(e.toString()).doesNotContain("Bearer");
    }

    @Test
    void instantsAreKeptToTheMicrosecondAndIdsAreVersion7() {
        final AuditEvent e = builder().build();
        assertThat(e.endTime()).isEqualTo(Instant.parse("2026-11-22T10:15:30.123456Z"));
        assertThat(e.startTime()).isEqualTo(e.endTime());
        assertThat(e.eventId().version()).isEqualTo(7);
        assertThat(builder().build().eventId()).isNotEqualTo(e.eventId());
        assertThat(e.timeToFirstChunkNanos()).isEqualTo(-1);
    }

    @Test
    void codecRoundTripsEveryField() {
        for (AuditEvent e : new AuditEvent[] {
            Events.call("acme", END, 3),
            Events.rejected("acme", END, "UNAUTHENTICATED", "token expired"),
            Events.control("ops", END),
            builder().prompt("ünïcødé \u0000 😀", AuditConfig.StorePrompts.FULL).build(),
            builder().model("qwen2.5-7b").alias("default").backend("gpu-a").build(),
            builder().model("qwen2.5-0.5b").alias("default").backend("cpu-b")
                    .degraded("fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=queue_full").build(),
        }) {
            final EventCodec.Sink sink = new EventCodec.Sink(16);
            EventCodec.encode(e, sink, new RepeatedText(EventCodec.REPEATED_FIELDS, false));
            final AuditEvent back = EventCodec.decode(ByteBuffer.wrap(sink.array(), 0, sink.size()).slice());
            assertThat(back).isEqualTo(e);
        }
    }

    @Test
    void eventsEncodedOneAfterAnotherEachReadBackWithTheirOwnText() {
        final List<AuditEvent> events = new ArrayList<>();
        for (int n = 0; n < 12; n++) {
            events.add(Events.call(n % 3 == 0 ? "beta" : "acme", END, n));
        }
        events.add(Events.rejected("acme", END, "UNAUTHENTICATED", "token expired"));
        events.add(Events.control("ops", END));
        events.add(builder().model("qwen2.5-7b").alias("default").backend("gpu-a").build());
        events.add(Events.call("acme", END, 12));
        events.add(builder().build());
        events.add(Events.call("acme", END, 13));
        // One encoder for all of them, as the spool has: each field's text repeats, changes, comes back, empties.
        final RepeatedText repeated = new RepeatedText(EventCodec.REPEATED_FIELDS, false);
        final EventCodec.Sink sink = new EventCodec.Sink(16);
        for (AuditEvent e : events) {
            sink.reset();
            EventCodec.encode(e, sink, repeated);
            assertThat(EventCodec.decode(ByteBuffer.wrap(sink.array(), 0, sink.size()).slice())).isEqualTo(e);
        }
    }

    @Test
    void aRecordSpooledBeforeTheRoutingFieldsIsStillRead() {
        final AuditEvent e = Events.call("acme", END, 3);
        final EventCodec.Sink sink = new EventCodec.Sink(16);
        EventCodec.encode(e, sink, new RepeatedText(EventCodec.REPEATED_FIELDS, false));
        final byte[] bytes = java.util.Arrays.copyOf(sink.array(), sink.size());
        // Version 1 ends after the prompt: drop the three empty strings (one length byte each) after it.
        final byte[] v1 = java.util.Arrays.copyOf(bytes, bytes.length - 3);
        v1[0] = 1;

        final AuditEvent back = EventCodec.decode(ByteBuffer.wrap(v1));

        assertThat(back).isEqualTo(e);
        assertThat(back.alias()).isEmpty();
        assertThat(back.backend()).isEmpty();
    }

    @Test
    void aRecordSpooledBeforeTheDegradeMarkerIsStillRead() {
        final AuditEvent e = builder().model("qwen2.5-7b").alias("default").backend("gpu-a").build();
        final EventCodec.Sink sink = new EventCodec.Sink(16);
        EventCodec.encode(e, sink, new RepeatedText(EventCodec.REPEATED_FIELDS, false));
        // Version 2 ends after the backend: drop the empty degrade marker (one length byte).
        final byte[] v2 = java.util.Arrays.copyOf(sink.array(), sink.size() - 1);
        v2[0] = 2;

        final AuditEvent back = EventCodec.decode(ByteBuffer.wrap(v2));

        assertThat(back).isEqualTo(e);
        assertThat(back.alias()).isEqualTo("default");
        assertThat(back.degraded()).isEmpty();
    }

    private static AuditEvent.Builder builder() {
        return AuditEvent.builder(AuditEvent.Kind.CALL).endTime(END);
    }
}
