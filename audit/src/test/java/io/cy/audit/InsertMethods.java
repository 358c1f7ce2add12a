package io.cy.audit;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * events/s, the writing thread's CPU per event (what the audit log adds to every call in the
 * coordinator's process) and, when the database runs on this machine, its server process's CPU
 * per event (what it takes from the cores the coordinator shares with it).
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
            System.out.printf("round %d: copy %,.0f events/s, %.2f us CPU/event (server %.2f); insert %,.0f"
                    + " events/s, %.2f us CPU/event (server %.2f); copy/insert CPU %.2f (server %.2f)%n", round,
                    copy[0], copy[1], copy[2], insert[0], insert[1], insert[2], copy[1] / insert[1],
                    copy[2] / insert[2]);
        }
        System.exit(0);
    }

    /** Events per second, the thread's and the server process's CPU microseconds per event (NaN if not local). */
    private static double[] run(List<AuditEvent> all, int batchSize, boolean copy) throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (var ds = SchemaTest.dataSource(db)) {
            Schema.migrate(ds);
        }
        try (Connection c = db.connect()) {
            Schema.ensurePartition(c, YearMonth.from(all.get(0).endTime().atOffset(ZoneOffset.UTC)));
            Schema.ensurePartition(c, YearMonth.from(all.get(all.size() - 1).endTime().atOffset(ZoneOffset.UTC)));
            final long backend;
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                backend = rs.getLong(1);
            }
            final long serverCpu = processCpuNanos(backend);
            final long cpu = THREADS.getCurrentThreadCpuTime();
            final long start = System.nanoTime();
            for (int i = 0; i < all.size(); i += batchSize) {
                final List<AuditEvent> batch = all.subList(i, Math.min(all.size(), i + batchSize));
                if (copy) {
                    new EventCopy().copy(c, batch);
                } else {
                    EventTable.insertSkippingKnown(c, batch);
                }
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            final double cpuMicros = (THREADS.getCurrentThreadCpuTime() - cpu) / 1e3;
            final double serverMicros = serverCpu < 0 ? Double.NaN : (processCpuNanos(backend) - serverCpu) / 1e3;
            if (Rows.count(db) != all.size()) {
                throw new AssertionError("rows: " + Rows.count(db));
            }
            return new double[] {all.size() / seconds, cpuMicros / all.size(), serverMicros / all.size()};
        }
    }

    /** User and system CPU of a process on this machine from Linux's /proc, assuming 100 ticks a second; -1 if unreadable. */
    private static long processCpuNanos(long pid) {
        try {
            final String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
