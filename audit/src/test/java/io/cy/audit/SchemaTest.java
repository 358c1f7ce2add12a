package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.List;
import org.junit.jupiter.api.Test;

class SchemaTest {

    @Test
    void flywayMigratesAnEmptyDatabaseAndIsIdempotent() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (HikariDataSource ds = dataSource(db)) {
            Schema.migrate(ds);
            assertThat(db.count("SELECT count(*) FROM cy_audit.flyway_schema_history WHERE type = 'SQL' AND success"))
                    .isEqualTo(3);
            assertThat(db.count("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                    + "WHERE c.relname = 'audit_event' AND p.partstrat = 'r'")).isEqualTo(1);
            assertThat(db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'cy_audit' "
                    + "AND indexname IN ('audit_event_tenant_time', 'audit_event_trace', 'audit_event_pkey')"))
                    .isEqualTo(3);
            assertThat(db.count("SELECT count(*) FROM cy_audit.daily_usage")).isZero();

            Schema.migrate(ds);
            Schema.migrate(ds);
            assertThat(db.count("SELECT count(*) FROM cy_audit.flyway_schema_history WHERE type = 'SQL'"))
                    .isEqualTo(3);
        }
    }

    @Test
    void partitionsAreCreatedAheadAndDroppedAfterRetention() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (HikariDataSource ds = dataSource(db)) {
            Schema.migrate(ds);
        }
        try (Connection c = db.connect()) {
            assertThat(Schema.maintainPartitions(c, LocalDate.parse("2026-01-15"), 2, 90)).containsExactly(
                    "created audit_event_2026_01", "created audit_event_2026_02", "created audit_event_2026_03");
            assertThat(Schema.maintainPartitions(c, LocalDate.parse("2026-01-16"), 2, 90)).isEmpty();

            // 90 days before 2026-06-15 is 2026-03-17: January and February ended before it, March did not.
            assertThat(Schema.maintainPartitions(c, LocalDate.parse("2026-06-15"), 2, 90)).containsExactly(
                    "created audit_event_2026_06", "created audit_event_2026_07", "created audit_event_2026_08",
                    "dropped audit_event_2026_01", "dropped audit_event_2026_02");
            assertThat(Schema.partitions(c)).containsExactly(YearMonth.of(2026, 3), YearMonth.of(2026, 6),
                    YearMonth.of(2026, 7), YearMonth.of(2026, 8));

            // A row lands in the partition of its end_time (UTC months).
            assertThat(Schema.ensurePartition(c, YearMonth.of(2026, 4))).isTrue();
            assertThat(Schema.ensurePartition(c, YearMonth.of(2026, 4))).isFalse();
            new EventTable().insert(c, List.of(
                    Events.call("acme", Instant.parse("2026-03-31T23:59:59.999999Z"), 1),
                    Events.call("acme", Instant.parse("2026-04-01T00:00:00Z"), 2)));
            assertThat(db.count("SELECT count(*) FROM cy_audit.audit_event_2026_03")).isEqualTo(1);
            assertThat(db.count("SELECT count(*) FROM cy_audit.audit_event_2026_04")).isEqualTo(1);
        }
    }

    static HikariDataSource dataSource(TestDatabase.Db db) {
        final HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(db.url().jdbcUrl());
        hc.setUsername(db.user());
        hc.setPassword(db.password());
        hc.setMaximumPoolSize(2);
        return new HikariDataSource(hc);
    }
}
