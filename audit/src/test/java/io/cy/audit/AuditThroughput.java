package io.cy.audit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.LockSupport;

/**
 * Sustained audit throughput into PostgreSQL: producers record as fast as the queue takes events
 * (pausing while it is nearly full, so nothing is dropped) and the time runs until the last event
 * is in the table. Run with {@code DB_URL} set, or against the test database fixture:
 * {@code java -cp <test classpath> io.cy.audit.AuditThroughput [events] [producers] [batchSize]}.
 */
public final class AuditThroughput {

    private AuditThroughput() {}

    public static void main(String[] args) throws Exception {
        final int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        final int producers = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        final int batchSize = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        final Result r = run(TestDatabase.create(), events, producers, batchSize);
        System.out.println(r);
        System.exit(0);
    }

    record Result(int events, int producers, int batchSize, double seconds) {
        double eventsPerSecond() {
            return events / seconds;
        }

        @Override
        public String toString() {
            return String.format("audit throughput: %,d events, %d producers, batch %d: %.2f s, %,.0f events/s",
                    events, producers, batchSize, seconds, eventsPerSecond());
        }
    }

    static Result run(TestDatabase.Db db, int events, int producers, int batchSize) throws Exception {
        final Path spool = Files.createTempDirectory("audit-throughput");
        final AuditConfig config = AuditConfig.builder(spool).dbUrl(db.url()).batchSize(batchSize).build();
        final PostgresAuditLog log = PostgresAuditLog.start(config);
        try {
            Await.until("database up", Duration.ofSeconds(30), () -> log.metrics().get("audit_db").equals("up"));
            final Instant base = Instant.now();
            final int perProducer = events / producers;
            // Built beforehand: what is measured is the log, not the building of events.
            final AuditEvent[][] prepared = new AuditEvent[producers][perProducer];
            for (int p = 0; p < producers; p++) {
                for (int i = 0; i < perProducer; i++) {
                    prepared[p][i] = Events.call("tenant-" + p, base.plusNanos(i * 1000L), i);
                }
            }
            final int total = perProducer * producers;
            final long high = config.queueCapacity() - 2L * batchSize;
            final Thread[] threads = new Thread[producers];
            final long start = System.nanoTime();
            for (int p = 0; p < producers; p++) {
                final AuditEvent[] mine = prepared[p];
                threads[p] = new Thread(() -> {
                    for (AuditEvent e : mine) {
                        while (log.queued() > high) {
                            // Pacing, so the queue never overflows: this measures the writer, not drops.
                            LockSupport.parkNanos(200_000);
                        }
                        if (!log.record(e)) {
                            throw new AssertionError("dropped");
                        }
                    }
                });
                threads[p].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            Await.until("all written", Duration.ofMinutes(5), () -> log.written() >= total);
            final double seconds = (System.nanoTime() - start) / 1e9;
            if (Rows.count(db) != total) {
                throw new AssertionError("expected " + total + " rows, found " + Rows.count(db));
            }
            return new Result(total, producers, batchSize, seconds);
        } finally {
            log.close(Duration.ofSeconds(10));
        }
    }
}
