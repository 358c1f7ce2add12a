package io.cy.bench.jmh;

import io.cy.audit.AuditConfig;
import io.cy.audit.AuditEvent;
import io.cy.audit.PostgresAuditLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the audit log costs a call: building its event and offering it to the bounded queue. The
 * log runs spool-only here (no database), which changes nothing on the caller's side; a queue
 * that fills faster than the writer drains it drops and counts, which is still the caller's cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AuditEnqueueBenchmark {

    private PostgresAuditLog log;
    private Path spool;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        spool = Files.createTempDirectory("cy-audit-bench");
        log = PostgresAuditLog.start(AuditConfig.builder(spool).spoolFsync(false).build());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        log.close(Duration.ofSeconds(5));
        try (var files = Files.walk(spool)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public boolean buildAndEnqueue() {
        final Instant end = Instant.now();
        return log.record(AuditEvent.builder(AuditEvent.Kind.CALL)
                .traceId("4bf92f3577b34da6a3ce929d0e0e4736")
                .startTime(end.minusMillis(3))
                .endTime(end)
                .method("StreamPredict")
                .tenant("acme")
                .subject("svc")
                .credential("jwt", "k1")
                .clientAddress("/127.0.0.1:50000")
                .model("sim")
                .sidecar("unix:///tmp/cy_sidecar.sock")
                .status("OK", "")
                .chunks(16)
                .promptTokens(5)
                .timeToFirstChunkNanos(400_000)
                .durationNanos(3_000_000)
                .bytesOut(640)
                .quotaDecision("admitted")
                .build());
    }
}
