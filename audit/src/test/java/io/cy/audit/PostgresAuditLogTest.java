package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresAuditLogTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String[] TENANTS = {"acme", "globex", "initech", "umbrella"};

    @TempDir
    Path spoolDir;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private Instant clock = Instant.now().minusSeconds(600);

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void everyFieldOfEveryKindRoundTrips() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = start(config(db.url()).storePrompts(AuditConfig.StorePrompts.FULL));
        final List<AuditEvent> recorded = List.of(
                Events.call("acme", next(), 1),
                AuditEvent.builder(AuditEvent.Kind.CALL).endTime(next()).tenant("acme").method("StreamPredict")
                        .status("CANCELLED", "client cancelled").cancelledByClient(true).chunks(3)
                        .prompt("User: \u0000odd \"text\" ünï\nAssistant:", log.storePrompts()).build(),
                Events.rejected("acme", next(), "UNAUTHENTICATED", "token expired"),
                Events.rejected("acme", next(), "RESOURCE_EXHAUSTED", "quota: 100 requests per minute"),
                Events.rejected("acme", next(), "INVALID_ARGUMENT", "generation.max_new_tokens: 100000 (expected: <= 8192)"),
                Events.control("ops", next()));
        for (AuditEvent e : recorded) {
            assertThat(log.record(e)).isTrue();
        }
        log.close(Duration.ofSeconds(10));

        final List<AuditEvent> rows = Rows.all(db);
        assertThat(rows).hasSize(recorded.size());
        for (int i = 0; i < rows.size(); i++) {
            final AuditEvent expected = recorded.get(i);
            if (expected.prompt().contains("\u0000")) {
                assertThat(rows.get(i).prompt()).isEqualTo(expected.prompt().replace('\u0000', '\uFFFD'));
                continue;
            }
            assertThat(rows.get(i)).isEqualTo(expected);
        }
        assertThat(rows.get(5).payload()).containsEntry("auth_token", AuditEvent.REDACTED)
                .containsEntry("addr", "unix:///tmp/cy_sidecar.sock");
        assertThat(db.count("SELECT count(*) FROM (SELECT tenant FROM cy_audit.daily_usage GROUP BY tenant "
                + "HAVING sum(calls) = 2 AND sum(rejected_calls) = 3 AND sum(cancelled_calls) = 1) u "
                + "WHERE tenant = 'acme'")).isEqualTo(1);
    }

    @Test
    void theRoutingFieldsAreKept() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = start(config(db.url()));
        final AuditEvent routed = AuditEvent.builder(AuditEvent.Kind.CALL).endTime(next()).tenant("acme")
                .method("StreamPredict").model("qwen2.5-7b-v2").alias("chat").backend("gpu-a").adapter("sql-lora")
                .degraded("fallback; from=gpu-b/qwen2.5-7b; to=gpu-a/qwen2.5-7b-v2; reason=all_ejected")
                .status("OK", "").build();
        assertThat(log.record(routed)).isTrue();
        log.close(Duration.ofSeconds(10));

        assertThat(Rows.all(db)).containsExactly(routed);
        assertThat(db.count("SELECT count(*) FROM cy_audit.audit_event WHERE alias = 'chat' AND backend = 'gpu-a'"
                + " AND model = 'qwen2.5-7b-v2' AND adapter = 'sql-lora' AND degraded LIKE 'fallback; %'")).isEqualTo(1);
    }

    @Test
    void nEventsFromManyThreadsAreExactlyNRows() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = start(config(db.url()));
        final List<UUID> ids = recordConcurrently(log, 5_000);
        await("20000 rows", () -> Rows.countIfPresent(db) == ids.size());
        log.close(Duration.ofSeconds(10));
        assertThat(Rows.ids(db)).isEqualTo(new HashSet<>(ids));
        assertThat(Rows.outOfOrderPerTenant(db)).isZero();
        assertThat(log.metrics()).containsEntry("audit_dropped", "0").containsEntry("audit_spool_bytes", "0");
    }

    @Test
    void anOutageAtTheTcpLevelLosesNothingDuplicatesNothingAndKeepsTheOrder() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final TcpRelay relay = new TcpRelay(db.host(), db.port());
        cleanup.add(relay);
        final PostgresAuditLog log = startWithDatabaseUp(config(db.urlVia(relay.port())));

        final List<UUID> ids = new ArrayList<>(recordConcurrently(log, 500));
        await("first events written", () -> Rows.countIfPresent(db) == ids.size());

        relay.cut();
        final long[] duringOutage = new long[2_000];
        for (int i = 0; i < duringOutage.length; i++) {
            final AuditEvent e = Events.call(TENANTS[i % TENANTS.length], next(), i);
            final long t0 = System.nanoTime();
            assertThat(log.record(e)).isTrue();
            duringOutage[i] = System.nanoTime() - t0;
            ids.add(e.eventId());
        }
        // The outage lasts until the writer has noticed it and spooled all of those.
        await("database down", () -> log.metrics().get("audit_db").equals("down"));
        await("outage events spooled", () -> log.batcher().spooled() >= duringOutage.length);
        assertThat(Long.parseLong(log.metrics().get("audit_spool_bytes"))).isPositive();
        ids.addAll(recordConcurrently(log, 250));
        await("more outage events spooled", () -> log.batcher().spooled() >= duringOutage.length + 1000);

        relay.restore();
        ids.addAll(recordConcurrently(log, 500));
        await("every event in the table", () -> Rows.count(db) == ids.size());
        await("spool empty", () -> log.metrics().get("audit_spool_bytes").equals("0"));
        log.close(Duration.ofSeconds(10));

        assertThat(Rows.ids(db)).isEqualTo(new HashSet<>(ids));
        assertThat(Rows.outOfOrderPerTenant(db)).isZero();
        assertThat(log.metrics()).containsEntry("audit_dropped", "0");
        Arrays.sort(duringOutage);
        // record() is a queue offer whatever the database does: microseconds, not a write's milliseconds.
        assertThat(duringOutage[duringOutage.length * 99 / 100]).isLessThan(Duration.ofMillis(2).toNanos());
        System.out.printf("record() during the outage: p50 %d ns, p99 %d ns, max %d ns%n",
                duringOutage[duringOutage.length / 2], duringOutage[duringOutage.length * 99 / 100],
                duringOutage[duringOutage.length - 1]);
    }

    @Test
    void aRestartReplaysTheSpoolWithoutDuplicatingWhatWasWrittenBefore() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final TcpRelay relay = new TcpRelay(db.host(), db.port());
        cleanup.add(relay);
        relay.cut();
        final PostgresAuditLog first = start(config(db.urlVia(relay.port())));
        final List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            events.add(Events.call(TENANTS[i % TENANTS.length], next(), i));
            first.record(events.get(i));
        }
        await("all spooled", () -> first.batcher().spooled() == events.size());
        first.close(Duration.ofSeconds(5));

        // As if the first run had written part of the spool and died before deleting its segment.
        try (var ds = SchemaTest.dataSource(db)) {
            Schema.migrate(ds);
            try (var c = ds.getConnection()) {
                Schema.ensurePartition(c, java.time.YearMonth.from(clock.atOffset(java.time.ZoneOffset.UTC)));
                Schema.ensurePartition(c, java.time.YearMonth.from(
                        events.get(0).endTime().atOffset(java.time.ZoneOffset.UTC)));
                new EventTable().insert(c, events.subList(0, 120));
            }
        }

        relay.restore();
        final PostgresAuditLog second = start(config(db.urlVia(relay.port())));
        await("every event in the table", () -> Rows.count(db) == events.size());
        await("spool empty", () -> second.metrics().get("audit_spool_bytes").equals("0"));
        second.close(Duration.ofSeconds(5));
        assertThat(Rows.all(db)).isEqualTo(events);
    }

    @Test
    void aKilledProcessLeavesItsEventsInTheSpoolForTheNextStart() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final int count = 1_000;
        final Process child = CrashChild.spawn(spoolDir, count);
        try {
            CrashChild.awaitSpooled(child, WAIT);
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
        final PostgresAuditLog log = start(config(db.url()));
        await("every event in the table", () -> Rows.countIfPresent(db) == count);
        await("spool empty", () -> log.metrics().get("audit_spool_bytes").equals("0"));
        log.close(Duration.ofSeconds(5));
        assertThat(Rows.ids(db)).isEqualTo(CrashChild.ids(count));
        assertThat(Rows.outOfOrderPerTenant(db)).isZero();
    }

    @Test
    void failOpenDropsAndCountsAtTheSpoolCap() throws Exception {
        final PostgresAuditLog log = start(config(unreachable())
                .spoolMaxBytes(64 * 1024).onUnavailable(AuditConfig.OnUnavailable.FAIL_OPEN));
        int attempts = 0;
        while (!log.batcher().isSpoolFull()) {
            log.record(Events.call("acme", next(), attempts));
            attempts++;
            if (attempts % 100 == 0) {
                await("the writer to catch up", () -> log.metrics().get("audit_queue").equals("0"));
            }
        }
        assertThat(log.record(Events.call("acme", next(), 0))).isFalse();
        attempts++;
        assertThat(log.isAccepting()).isTrue();
        final long dropped = Long.parseLong(log.metrics().get("audit_dropped"));
        assertThat(dropped).isPositive();
        assertThat(Long.parseLong(log.metrics().get("audit_spool_bytes"))).isLessThanOrEqualTo(64 * 1024);
        // Every event is in the spool or counted as dropped, whether refused at once or by the writer.
        final long expected = attempts;
        await("every event spooled or counted", () -> log.batcher().spooled()
                + Long.parseLong(log.metrics().get("audit_dropped")) == expected);
        log.close(Duration.ofSeconds(1));
    }

    @Test
    void failClosedStopsAcceptingWhenItCanNeitherWriteNorSpoolAndLosesNothing() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final TcpRelay relay = new TcpRelay(db.host(), db.port());
        cleanup.add(relay);
        relay.cut();
        final PostgresAuditLog log = start(config(db.urlVia(relay.port()))
                .spoolMaxBytes(64 * 1024).onUnavailable(AuditConfig.OnUnavailable.FAIL_CLOSED));
        assertThat(log.isAccepting()).isTrue();
        final Set<UUID> ids = new HashSet<>();
        int i = 0;
        while (log.isAccepting()) {
            final AuditEvent e = Events.call(TENANTS[i % TENANTS.length], next(), i++);
            assertThat(log.record(e)).isTrue();
            ids.add(e.eventId());
            if (i % 50 == 0) {
                await("the writer to catch up, or the spool to fill", () -> log.batcher().isSpoolFull()
                        || log.metrics().get("audit_queue").equals("0"));
            }
        }
        assertThat(log.metrics()).containsEntry("audit_db", "down").containsEntry("audit_dropped", "0");

        relay.restore();
        await("accepting again", log::isAccepting);
        await("every event in the table", () -> Rows.countIfPresent(db) == ids.size());
        log.close(Duration.ofSeconds(5));
        assertThat(Rows.ids(db)).isEqualTo(ids);
        assertThat(Rows.outOfOrderPerTenant(db)).isZero();
        assertThat(log.metrics()).containsEntry("audit_dropped", "0");
    }

    @Test
    void withoutADatabaseEventsAreSpooledAndWrittenOnceOneIsConfigured() throws Exception {
        final PostgresAuditLog spoolOnly = start(AuditConfig.builder(spoolDir).batchInterval(Duration.ofMillis(20)));
        final List<UUID> ids = recordConcurrently(spoolOnly, 100);
        await("all spooled", () -> spoolOnly.batcher().spooled() == ids.size());
        assertThat(spoolOnly.metrics()).containsEntry("audit_db", "down");
        spoolOnly.close(Duration.ofSeconds(1));

        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = start(config(db.url()));
        await("every event in the table", () -> Rows.countIfPresent(db) == ids.size());
        log.close(Duration.ofSeconds(5));
        assertThat(Rows.ids(db)).isEqualTo(new HashSet<>(ids));
    }

    @Test
    void closeFlushesTheQueueToTheDatabase() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log =
                startWithDatabaseUp(config(db.url()).batchSize(100).batchInterval(Duration.ofSeconds(1)).maxUnwritten(Duration.ofSeconds(2)));
        final List<UUID> ids = recordConcurrently(log, 2_000);
        log.close(Duration.ofSeconds(10));
        assertThat(Rows.count(db)).isEqualTo(ids.size());
        assertThat(log.metrics()).containsEntry("audit_spool_bytes", "0");
        assertThat(log.record(Events.call("acme", next(), 0))).isFalse();
    }

    @Test
    void aFullBatchIsWrittenWithoutWaitingForTheBatchInterval() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        // Only the event that completes a batch can get it written before the minute is up.
        final PostgresAuditLog log =
                startWithDatabaseUp(config(db.url()).batchSize(50).batchInterval(Duration.ofHours(1)).maxUnwritten(Duration.ofHours(2)));
        for (int i = 0; i < 49; i++) {
            assertThat(log.record(Events.call("acme", next(), i))).isTrue();
        }
        // Read while the batch thread may be moving an event from the queue to its batch: the two
        // counts are read apart, so the sum can be one short for a moment.
        await("49 events waiting", () -> "49".equals(log.metrics().get("audit_queue")));
        assertThat(Rows.countIfPresent(db)).isZero();

        assertThat(log.record(Events.call("acme", next(), 49))).isTrue();
        await("the batch of 50 in the table", () -> Rows.countIfPresent(db) == 50);
    }

    @Test
    void batchesCompletedByManyThreadsAreWrittenWithoutWaitingForTheBatchInterval() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log =
                startWithDatabaseUp(config(db.url()).batchSize(100).batchInterval(Duration.ofHours(1)).maxUnwritten(Duration.ofHours(2)));
        // 4 threads x 250: exactly 10 batches, each completed by whichever thread's event comes 100th.
        final List<UUID> ids = recordConcurrently(log, 250);
        await("1000 rows", () -> Rows.countIfPresent(db) == ids.size());
        assertThat(Rows.ids(db)).isEqualTo(new HashSet<>(ids));
    }

    @Test
    void batchesAppendedWithinTheDatabaseIntervalGoInOneWrite() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = startWithDatabaseUp(config(db.url()).batchSize(10)
                .dbBatchInterval(Duration.ofMinutes(1)));
        // After a quiet spell the first write goes at once.
        assertThat(log.record(Events.call("acme", next(), 0))).isTrue();
        await("the first event in the table", () -> Rows.countIfPresent(db) == 1);

        for (int i = 1; i <= 50; i++) {
            assertThat(log.record(Events.call("acme", next(), i))).isTrue();
        }
        // Five batches or more on disk in the spool, waiting for the interval.
        await("the 50 events in the spool", () -> "0".equals(log.metrics().get("audit_queue")));
        assertThat(Rows.count(db)).isEqualTo(1);

        // Closing writes what waits, all in one COPY.
        log.close(Duration.ofSeconds(10));
        assertThat(Rows.perWrite(db)).containsExactly(1L, 50L);
        assertThat(log.metrics()).containsEntry("audit_spool_bytes", "0");
    }

    @Test
    void aWriteGoesBeforeTheIntervalOnceDbBatchSizeEventsWait() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = startWithDatabaseUp(config(db.url()).batchSize(10).dbBatchSize(30)
                .dbBatchInterval(Duration.ofMinutes(1)));
        assertThat(log.record(Events.call("acme", next(), 0))).isTrue();
        await("the first event in the table", () -> Rows.countIfPresent(db) == 1);

        for (int i = 1; i <= 60; i++) {
            assertThat(log.record(Events.call("acme", next(), i))).isTrue();
        }
        // Only audit.db_batch_size can get them written before the minute is up: batches of up to 10
        // are gathered while another fits under 30, so each write takes 21 to 30 events.
        await("a write of the events that waited", () -> Rows.count(db) > 1);
        log.close(Duration.ofSeconds(10));
        final List<Long> perWrite = Rows.perWrite(db);
        assertThat(perWrite.get(0)).isEqualTo(1);
        assertThat(perWrite.get(1)).isBetween(21L, 30L);
        assertThat(perWrite).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(30));
        assertThat(perWrite.stream().mapToLong(Long::longValue).sum()).isEqualTo(61);
    }

    @Test
    void aWriteGoesBeforeTheIntervalOnceItsEventsAreLarge() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = startWithDatabaseUp(config(db.url()).batchSize(1)
                .storePrompts(AuditConfig.StorePrompts.FULL).dbBatchInterval(Duration.ofMinutes(1)));
        assertThat(log.record(Events.call("acme", next(), 0))).isTrue();
        await("the first event in the table", () -> Rows.countIfPresent(db) == 1);

        final String prompt = "x".repeat(1 << 20);
        final long perWrite = DatabaseSink.MAX_GATHERED_BYTES / prompt.length();
        for (int i = 1; i <= perWrite + 2; i++) {
            assertThat(log.record(Events.call("acme", next(), i, prompt, AuditConfig.StorePrompts.FULL))).isTrue();
        }
        // 10,000 events would fit, but not their bytes: the first 8 MiB go before the minute is up.
        await("a write of the large events", () -> Rows.count(db) > 1);
        log.close(Duration.ofSeconds(10));
        assertThat(Rows.perWrite(db)).containsExactly(1L, perWrite, 2L);
    }

    @Test
    void aFullSpoolIsWrittenWithoutWaitingForTheDatabaseInterval() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final PostgresAuditLog log = startWithDatabaseUp(config(db.url()).batchSize(10).spoolMaxBytes(64 * 1024)
                .dbBatchInterval(Duration.ofMinutes(1)));
        assertThat(log.record(Events.call("acme", next(), 0))).isTrue();
        await("the first event in the table", () -> Rows.countIfPresent(db) == 1);

        // Some 300 KiB of events through a spool of 64 KiB: only writes make room, so they cannot
        // wait for the minute. A write ends where a segment (8 KiB here) does.
        for (int i = 1; i <= 1000; i++) {
            assertThat(log.record(Events.call("acme", next(), i))).isTrue();
        }
        await("every event through the spool", () -> log.batcher().spooled() == 1001);
        // The last of them wait for the minute, or for the close.
        log.close(Duration.ofSeconds(10));
        assertThat(Rows.count(db)).isEqualTo(1001);
        assertThat(log.metrics()).containsEntry("audit_dropped", "0");
    }

    @Test
    void theWriterRollsPartitionsByItsClock() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final SettableClock clock = new SettableClock(Instant.parse("2026-01-15T12:00:00Z"));
        final PostgresAuditLog log = PostgresAuditLog.start(config(db.url()).retentionDays(90).partitionsAhead(2)
                .build(), clock);
        cleanup.add(() -> log.close(Duration.ofSeconds(5)));
        await("partitions ahead", () -> partitions(db).containsAll(List.of("2026_01", "2026_02", "2026_03")));

        clock.set(Instant.parse("2026-06-15T00:00:01Z"));
        await("partitions rolled", () -> partitions(db).containsAll(List.of("2026_06", "2026_07", "2026_08"))
                && !partitions(db).contains("2026_01") && !partitions(db).contains("2026_02"));
        assertThat(partitions(db)).contains("2026_03");
    }

    @Test
    void aBatchWhoseEventsEndInSeveralMonthsGetsAPartitionForEachAtTheirEdges() throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        final SettableClock clock = new SettableClock(Instant.parse("2026-01-15T12:00:00Z"));
        final List<Instant> ends = List.of(
                Instant.parse("2026-01-15T12:00:00Z"),
                Instant.parse("2025-12-31T23:59:59.999999Z"),
                Instant.parse("2026-01-15T12:00:00.001Z"),
                Instant.parse("2026-05-01T00:00:00Z"),
                Instant.parse("2026-04-30T23:59:59.999999Z"),
                Instant.parse("2026-05-15T00:00:00Z"));
        final PostgresAuditLog log = PostgresAuditLog.start(config(db.url()).retentionDays(3650).partitionsAhead(2)
                .batchSize(ends.size()).batchInterval(Duration.ofHours(1)).maxUnwritten(Duration.ofHours(2)).build(),
                clock);
        cleanup.add(() -> log.close(Duration.ofSeconds(5)));
        await("partitions ahead", () -> partitions(db).containsAll(List.of("2026_01", "2026_02", "2026_03")));
        assertThat(partitions(db)).doesNotContain("2025_12", "2026_04", "2026_05");

        final Set<UUID> ids = new HashSet<>();
        for (int i = 0; i < ends.size(); i++) {
            final AuditEvent e = Events.call("acme", ends.get(i), i);
            assertThat(log.record(e)).isTrue();
            ids.add(e.eventId());
        }

        await("one batch of six rows", () -> Rows.countIfPresent(db) == ends.size());
        assertThat(Rows.ids(db)).isEqualTo(ids);
        assertThat(partitions(db)).contains("2025_12", "2026_04", "2026_05");
    }

    // --- helpers

    private PostgresAuditLog start(AuditConfig.Builder config) {
        final PostgresAuditLog log = PostgresAuditLog.start(config.build());
        cleanup.add(() -> log.close(Duration.ofSeconds(5)));
        return log;
    }

    private PostgresAuditLog startWithDatabaseUp(AuditConfig.Builder config) throws Exception {
        final PostgresAuditLog log = start(config);
        await("database up", () -> log.metrics().get("audit_db").equals("up"));
        return log;
    }

    private AuditConfig.Builder config(DbUrl url) {
        return AuditConfig.builder(spoolDir)
                .dbUrl(url)
                .batchInterval(Duration.ofMillis(20))
                .connectTimeout(Duration.ofMillis(500))
                .writeTimeout(Duration.ofSeconds(5));
    }

    /** A port nothing listens on. */
    private static DbUrl unreachable() throws Exception {
        final int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        return DbUrl.parse("postgresql://nobody@127.0.0.1:" + port + "/none");
    }

    /** Records {@code perTenant} events for each tenant, one thread per tenant, end times rising. */
    private List<UUID> recordConcurrently(PostgresAuditLog log, int perTenant) throws Exception {
        final Instant base = next();
        clock = base.plusMillis(perTenant + 1L);
        final ExecutorService pool = Executors.newFixedThreadPool(TENANTS.length);
        try {
            final List<Future<List<UUID>>> futures = new ArrayList<>();
            for (int t = 0; t < TENANTS.length; t++) {
                final String tenant = TENANTS[t];
                final int kindSeed = t;
                futures.add(pool.submit(() -> {
                    final List<UUID> ids = new ArrayList<>();
                    for (int i = 0; i < perTenant; i++) {
                        final Instant end = base.plusMillis(i);
                        final AuditEvent e = switch ((i + kindSeed) % 5) {
                            case 3 -> Events.rejected(tenant, end, "UNAUTHENTICATED", "token expired");
                            case 4 -> Events.control(tenant, end);
                            default -> Events.call(tenant, end, i);
                        };
                        if (!log.record(e)) {
                            throw new AssertionError("dropped " + e);
                        }
                        ids.add(e.eventId());
                    }
                    return ids;
                }));
            }
            final List<UUID> all = new ArrayList<>();
            for (Future<List<UUID>> f : futures) {
                all.addAll(f.get());
            }
            return all;
        } finally {
            pool.shutdown();
        }
    }

    private Instant next() {
        clock = clock.plusMillis(1);
        return clock;
    }

    private static List<String> partitions(TestDatabase.Db db) throws Exception {
        try (var c = db.connect()) {
            return Schema.partitions(c).stream()
                    .map(m -> String.format("%d_%02d", m.getYear(), m.getMonthValue())).toList();
        }
    }

    private static void await(String what, Await.Condition condition) throws Exception {
        Await.until(what, WAIT, condition);
    }
}
