package io.cy.audit;

import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * The audit schema {@code cy_audit}: created and upgraded by Flyway from the migrations shipped
 * in this jar ({@code db/migration/cy_audit}), with its own history table, so it can share a
 * database with anything else. Monthly partitions are kept by the SQL functions the migrations
 * define.
 */
final class Schema {

    static final String NAME = "cy_audit";
    static final String LOCATION = "classpath:db/migration/cy_audit";

    private Schema() {}

    /**
     * Brings the schema to the newest version; does nothing when it is there already. Flyway
     * opens its own connections, without the pool's socket timeout, which a long migration of a
     * large table must not run into.
     */
    static void migrate(DbUrl db) {
        configure().dataSource(db.jdbcUrl(), db.user(), db.password()).load().migrate();
    }

    /** As {@link #migrate(DbUrl)}, on connections from {@code dataSource}. */
    static void migrate(DataSource dataSource) {
        configure().dataSource(dataSource).load().migrate();
    }

    private static FluentConfiguration configure() {
        return Flyway.configure(Schema.class.getClassLoader())
                .schemas(NAME)
                .createSchemas(true)
                .table("flyway_schema_history")
                .locations(LOCATION);
    }

    /**
     * Creates the partitions of {@code today}'s month and {@code ahead} months after it, and drops
     * those that ended {@code retentionDays} before {@code today}.
     *
     * @return what was done, e.g. {@code created audit_event_2026_12}, {@code dropped
     *     audit_event_2026_01}, or {@code busy audit_event_2026_02} for one left for the next run
     *     because a query held it
     */
    static List<String> maintainPartitions(Connection c, LocalDate today, int ahead, int retentionDays)
            throws SQLException {
        final List<String> actions = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT action, partition_name FROM "
                + "cy_audit.maintain_partitions(?, ?, ?)")) {
            ps.setDate(1, Date.valueOf(today));
            ps.setInt(2, ahead);
            ps.setInt(3, retentionDays);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    actions.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
        }
        return actions;
    }

    /**
     * Creates the partition for {@code month} unless it exists; returns whether it created it.
     * Waits at most two seconds for the lock on the table (SQL state 55P03 after that).
     */
    static boolean ensurePartition(Connection c, YearMonth month) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT cy_audit.ensure_partition(?)")) {
            ps.setDate(1, Date.valueOf(month.atDay(1)));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** The months that have a partition. */
    static List<YearMonth> partitions(Connection c) throws SQLException {
        final List<YearMonth> months = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relname FROM pg_inherits h
                JOIN pg_class c ON c.oid = h.inhrelid
                JOIN pg_class p ON p.oid = h.inhparent
                JOIN pg_namespace n ON n.oid = p.relnamespace
                WHERE n.nspname = 'cy_audit' AND p.relname = 'audit_event'
                  AND c.relname ~ '^audit_event_[0-9]{4}_[0-9]{2}$'
                ORDER BY c.relname""");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                final String name = rs.getString(1);
                months.add(YearMonth.of(Integer.parseInt(name.substring(12, 16)),
                        Integer.parseInt(name.substring(17, 19))));
            }
        }
        return months;
    }
}
