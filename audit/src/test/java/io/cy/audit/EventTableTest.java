package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The two ways a batch reaches the table, against a real PostgreSQL. */
class EventTableTest {

    private static final Instant END = Instant.parse("2026-03-31T23:59:59.999999Z");

    @Test
    void copyStoresEveryColumnAsTheInsertDoes() throws Exception {
        final List<AuditEvent> events = varied();
        final TestDatabase.Db copied = database();
        final TestDatabase.Db inserted = database();
        try (Connection c = copied.connect()) {
            assertThat(new EventCopy().copy(c, events)).isEqualTo(events.size());
        }
        try (Connection c = inserted.connect()) {
            assertThat(EventTable.insertSkippingKnown(c, events)).isEqualTo(events.size());
        }

        final List<AuditEvent> rows = Rows.all(copied);
        assertThat(rows).isEqualTo(Rows.all(inserted));
        assertThat(rows).hasSize(events.size());
        for (int i = 0; i < events.size(); i++) {
            final AuditEvent expected = events.get(i);
            if (expected.prompt().indexOf('\0') >= 0 || expected.statusDescription().indexOf('\0') >= 0) {
                assertThat(rows.get(i).prompt()).isEqualTo(expected.prompt().replace('\0', '\uFFFD'));
                assertThat(rows.get(i).statusDescription())
                        .isEqualTo(expected.statusDescription().replace('\0', '\uFFFD'));
            } else if (expected.kind() != AuditEvent.Kind.CONTROL) {
                assertThat(rows.get(i)).isEqualTo(expected);
            }
        }
        // The payload, as JSON: redacted where the event redacted it.
        assertThat(rows.get(2).payload()).containsEntry("addr", "unix:///tmp/cy_sidecar.sock")
                .containsEntry("auth_token", AuditEvent.REDACTED);
    }

    @Test
    void oneCopyWritesBatchAfterBatchWithEachRowsOwnText() throws Exception {
        final List<AuditEvent> events = new ArrayList<>();
        for (int n = 0; n < 30; n++) {
            events.add(Events.call(n % 4 == 0 ? "beta" : n % 4 == 1 ? "" : "acme", END.minusMillis(30 - n), n));
        }
        events.set(7, Events.rejected("acme", END.minusMillis(23), "RESOURCE_EXHAUSTED", "requests_per_minute: 61"));
        events.set(8, Events.rejected("acme", END.minusMillis(22), "RESOURCE_EXHAUSTED", "requests_per_minute: 61"));
        final TestDatabase.Db db = database();
        // As the sink writes: one copy, its buffer and the text of the row before used for every batch;
        // the second batch is the largest, the last the smallest.
        final EventCopy copy = new EventCopy();
        try (Connection c = db.connect()) {
            assertThat(copy.copy(c, events.subList(0, 9))).isEqualTo(9);
            assertThat(copy.copy(c, events.subList(9, 27))).isEqualTo(18);
            assertThat(copy.copy(c, events.subList(27, 30))).isEqualTo(3);
        }
        assertThat(Rows.all(db)).isEqualTo(events);
    }

    @Test
    void aBatchLargerThanTheKeptBufferIsWrittenAndItsBufferNotKept() throws Exception {
        final String prompt = "p".repeat(9 << 20);
        final AuditEvent large = AuditEvent.builder(AuditEvent.Kind.CALL).endTime(END)
                .prompt(prompt, AuditConfig.StorePrompts.FULL).build();
        final TestDatabase.Db db = database();
        final EventCopy copy = new EventCopy();
        try (Connection c = db.connect()) {
            assertThat(copy.copy(c, List.of(large))).isEqualTo(1);
        }

        assertThat(Rows.all(db).get(0).prompt()).hasSize(prompt.length());
        // The next batch starts from a buffer of the usual size, not the 9 MiB one.
        assertThat(copy.encode(List.of(Events.call("acme", END, 1))).array().length).isLessThan(1 << 20);
    }

    @Test
    void aBatchPartlyInTheTableIsWrittenOnceInOrder() throws Exception {
        final List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            events.add(Events.call("acme", END.minusMillis(100 - i), i));
        }
        final TestDatabase.Db db = database();
        try (Connection c = db.connect()) {
            new EventTable().insert(c, events.subList(0, 40));
            // A replay: the first 40 are in the table, COPY refuses the batch, the insert skips them.
            new EventTable().insert(c, events);
            new EventTable().insert(c, events.subList(90, 100));
        }
        assertThat(Rows.all(db)).isEqualTo(events);
    }

    @Test
    void aRefusedBatchFailsWithTheDatabasesStateAndLeavesTheConnectionUsable() throws Exception {
        final TestDatabase.Db db = database();
        // A month with no partition: the database refuses the row (check_violation), and the
        // sink decides from that state what comes next.
        final AuditEvent later = Events.call("acme", Instant.parse("2027-01-15T00:00:00Z"), 1);
        try (Connection c = db.connect()) {
            assertThatThrownBy(() -> new EventTable().insert(c, List.of(later)))
                    .isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("23514");
            // The connection is usable afterwards: the failed COPY left nothing open.
            new EventTable().insert(c, List.of(Events.call("acme", END, 2)));
        }
        assertThat(Rows.count(db)).isEqualTo(1);
    }

    @Test
    void aCopyCutOffMidStreamFailsWithTheConnectionsStateAndWritesNothing() throws Exception {
        final TestDatabase.Db db = database();
        final List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            events.add(Events.call("acme", END.minusMillis(2000 - i), i));
        }
        try (TcpRelay relay = new TcpRelay(db.host(), db.port())) {
            final Connection c =
                    TestDatabase.Db.connect("127.0.0.1", relay.port(), db.name(), db.user(), db.password());
            try {
                // Some 700 KB of rows; the connection breaks after the first 64 KiB of them.
                relay.cutAfterUpstreamBytes(64 * 1024);
                assertThatThrownBy(() -> new EventCopy().copy(c, events))
                        .isInstanceOf(SQLException.class)
                        .extracting(e -> ((SQLException) e).getSQLState()).asString()
                        .as("a connection failure, which marks the database down").startsWith("08");
            } finally {
                try {
                    c.close();
                } catch (SQLException broken) {
                    // The connection is gone; there is nothing to close properly.
                }
            }
        }
        assertThat(Rows.count(db)).isZero();
    }

    private static List<AuditEvent> varied() {
        final List<AuditEvent> events = new ArrayList<>();
        events.add(Events.call("acme", END, 1));
        events.add(Events.rejected("acme", END, "RESOURCE_EXHAUSTED", "requests_per_minute: 61 (expected: <= 60)"));
        events.add(Events.control("ops", END));
        events.add(AuditEvent.builder(AuditEvent.Kind.CALL)
                .traceId("trace-\u0000-ünï")
                .startTime(END.minusSeconds(1))
                .endTime(END)
                .api("grpc")
                .method("StreamPredict")
                .tenant("ténant 😀")
                .model("llama")
                .alias("chat")
                .backend("canary")
                .degraded("fallback")
                .priority(-3)
                .status("UNAVAILABLE", "sidecar \u0000 gone")
                .chunks(Long.MAX_VALUE)
                .timeToFirstChunkNanos(-1)
                .durationNanos(1)
                .cancelledByClient(true)
                .prompt("User: \u0000odd \"text\" ünï\\\n\tAssistant:", AuditConfig.StorePrompts.FULL)
                .build());
        events.add(AuditEvent.builder(AuditEvent.Kind.CALL).endTime(END.plusNanos(1000)).build());
        events.add(AuditEvent.builder(AuditEvent.Kind.CONTROL).endTime(END).command("reload")
                .payload(Map.of("note", "quote \" backslash \\ tab \t newline \n")).build());
        return events;
    }

    private static TestDatabase.Db database() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (HikariDataSource ds = SchemaTest.dataSource(db)) {
            Schema.migrate(ds);
        }
        try (Connection c = db.connect()) {
            Schema.ensurePartition(c, YearMonth.from(END.atOffset(ZoneOffset.UTC)));
            Schema.ensurePartition(c, YearMonth.from(END.plusSeconds(1).atOffset(ZoneOffset.UTC)));
        }
        return db;
    }
}
