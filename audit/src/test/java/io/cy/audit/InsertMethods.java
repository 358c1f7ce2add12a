package io.cy.audit;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares the two ways {@link EventTable} writes a batch: the binary COPY ({@link EventCopy},
 * the usual way) against the INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING (for a
 * batch the table holds some of), in alternating rounds, each into a fresh database. Prints
 * events/s and the writing thread's CPU per event, the figure the audit log adds to every call.
 * Run: {@code java -cp <test classpath> io.cy.audit.InsertMethods [events] [batchSize] [rounds]}.
 */
public final class InsertMethods {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private InsertMethods() {}

    public static void main(String[] args) throws Exception {
        final int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        final int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        final int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        final List<AuditEvent> all = new ArrayList<>(events);
        final Instant base = Instant.now();
        for (int i = 0; i < events; i++) {
            all.add(Events.call("tenant-" + i % 4, base.plusNanos(i * 1000L), i));
        }
        for (int round = 0; round < rounds; round++) {
            final double[] copy = run(all, batchSize, true);
            final double[] insert = run(all, batchSize, false);
            System.out.printf("round %d: copy %,.0f events/s, %.2f us CPU/event; insert %,.0f events/s, %.2f us"
                    + " CPU/event; copy/insert CPU %.2f%n", round, copy[0], copy[1], insert[0], insert[1],
                    copy[1] / insert[1]);
        }
        System.exit(0);
    }

    /** Events per second and the thread's CPU microseconds per event. */
    private static double[] run(List<AuditEvent> all, int batchSize, boolean copy) throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (var ds = SchemaTest.dataSource(db)) {
            Schema.migrate(ds);
        }
        try (Connection c = db.connect()) {
            Schema.ensurePartition(c, YearMonth.from(all.get(0).endTime().atOffset(ZoneOffset.UTC)));
            Schema.ensurePartition(c, YearMonth.from(all.get(all.size() - 1).endTime().atOffset(ZoneOffset.UTC)));
            final long cpu = THREADS.getCurrentThreadCpuTime();
            final long start = System.nanoTime();
            for (int i = 0; i < all.size(); i += batchSize) {
                final List<AuditEvent> batch = all.subList(i, Math.min(all.size(), i + batchSize));
                if (copy) {
                    EventCopy.copy(c, batch);
                } else {
                    EventTable.insertSkippingKnown(c, batch);
                }
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            final double cpuMicros = (THREADS.getCurrentThreadCpuTime() - cpu) / 1e3;
            if (Rows.count(db) != all.size()) {
                throw new AssertionError("rows: " + Rows.count(db));
            }
            return new double[] {all.size() / seconds, cpuMicros / all.size()};
        }
    }
}
