package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code audit.db_batch_size} and {@code audit.db_batch_interval}: how many events one write to
 * the database takes at most, and how often writes start.
 */
class AuditDatabaseBatchSettingsTest {

    private static io.cy.audit.AuditConfig audit(String yaml) {
        return ConfigLoaderTest.yaml(yaml, Map.of()).config().audit().settings();
    }

    @Test
    void tenThousandEventsAtMostOneSecondApartByDefault() {
        assertThat(audit("").dbBatchSize()).isEqualTo(10_000);
        assertThat(audit("").dbBatchInterval()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void unsetTheBatchSizeGrowsWithTheSpoolsBatches() {
        assertThat(audit("audit: {queue_capacity: 100000, batch_size: 20000}").dbBatchSize()).isEqualTo(20_000);
    }

    @Test
    void comeFromTheFile() {
        final io.cy.audit.AuditConfig audit = audit("audit: {db_batch_size: 50000, db_batch_interval: 0s}");
        assertThat(audit.dbBatchSize()).isEqualTo(50_000);
        assertThat(audit.dbBatchInterval()).isZero();
    }

    @Test
    void badValuesAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> audit("audit: {db_batch_size: 500}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("audit.db_batch_size: 500 (expected: >= audit.batch_size 1000)");
        assertThatThrownBy(() -> audit("audit: {db_batch_size: 2000000}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.db_batch_size: 2000000 (expected: ");
        assertThatThrownBy(() -> audit("audit: {db_batch_interval: 2m}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("audit.db_batch_interval: PT2M (expected: >= 0 and <= PT1M)");
        assertThatThrownBy(() -> audit("audit: {db_batch_interval: soon}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.db_batch_interval: 'soon' (expected: a duration");
    }
}
