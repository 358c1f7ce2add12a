package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AuditConfigTest {

    private static final Path SPOOL = Path.of("audit-spool");

    @Test
    void defaults() {
        final AuditConfig c = AuditConfig.builder(SPOOL).build();
        assertThat(c.dbUrl()).isNull();
        assertThat(c.storePrompts()).isEqualTo(AuditConfig.StorePrompts.NONE);
        assertThat(c.retentionDays()).isEqualTo(90);
        assertThat(c.partitionsAhead()).isEqualTo(2);
        assertThat(c.queueCapacity()).isEqualTo(65_536);
        assertThat(c.batchSize()).isEqualTo(1000);
        assertThat(c.batchInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(c.dbBatchSize()).isEqualTo(10_000);
        assertThat(c.dbBatchInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.maxUnwritten()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.spoolDir()).isEqualTo(SPOOL);
        assertThat(c.spoolMaxBytes()).isEqualTo(1L << 30);
        assertThat(c.spoolFsync()).isTrue();
        assertThat(c.onUnavailable()).isEqualTo(AuditConfig.OnUnavailable.FAIL_OPEN);
        assertThat(c.poolSize()).isEqualTo(4);
        assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.writeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.toBuilder().build()).isEqualTo(c);
    }

    @Test
    void invalidValuesNameTheSetting() {
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).batchSize(0).build())
                .hasMessage("audit.batch_size: 0 (expected: >= 1)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).queueCapacity(100).batchSize(200).build())
                .hasMessage("audit.batch_size: 200 (expected: <= audit.queue_capacity 100)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).retentionDays(0).build())
                .hasMessage("audit.retention_days: 0 (expected: >= 1)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).batchInterval(Duration.ZERO).build())
                .hasMessage("audit.batch_interval: PT0S (expected: > 0)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).batchInterval(Duration.ofMillis(600)).build())
                .hasMessage("audit.batch_interval: PT0.6S (expected: <= half of audit.max_unwritten PT1S, "
                        + "the other half left for the write to disk)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).dbBatchSize(999).build())
                .hasMessage("audit.db_batch_size: 999 (expected: >= audit.batch_size 1000)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).dbBatchSize(1_000_001).build())
                .hasMessage("audit.db_batch_size: 1000001 (expected: <= 1000000)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).dbBatchInterval(Duration.ofMillis(-1)).build())
                .hasMessage("audit.db_batch_interval: PT-0.001S (expected: >= 0 and <= PT1M)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).dbBatchInterval(Duration.ofMinutes(2)).build())
                .hasMessage("audit.db_batch_interval: PT2M (expected: >= 0 and <= PT1M)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).maxUnwritten(Duration.ZERO).build())
                .hasMessage("audit.max_unwritten: PT0S (expected: > 0)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).spoolMaxBytes(1000).build())
                .hasMessage("audit.spool_max_bytes: 1000 (expected: >= 65536)");
        assertThatThrownBy(() -> AuditConfig.builder(SPOOL).poolSize(1).build())
                .hasMessage("audit.pool_size: 1 (expected: >= 2)");
    }

    @Test
    void theDatabaseBatchIsAtLeastTheSpoolBatchUnlessSet() {
        assertThat(AuditConfig.builder(SPOOL).queueCapacity(100_000).batchSize(20_000).build().dbBatchSize())
                .isEqualTo(20_000);
        assertThat(AuditConfig.builder(SPOOL).batchSize(10).dbBatchSize(30).build().dbBatchSize()).isEqualTo(30);
        assertThat(AuditConfig.builder(SPOOL).dbBatchInterval(Duration.ZERO).build().dbBatchInterval())
                .isEqualTo(Duration.ZERO);
    }

    @Test
    void printsNoPassword() {
        final AuditConfig c = AuditConfig.builder(SPOOL)
                .dbUrl(DbUrl.parse("postgresql://cy:hunter2@db:5432/cy")).build();
        assertThat(c.toString()).contains("jdbc:postgresql://db:5432/cy user=cy password=***")
                .doesNotContain("hunter2");
    }
}
