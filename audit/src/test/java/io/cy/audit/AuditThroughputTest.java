package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Runs {@link AuditThroughput} briefly, so every test run reports the number. */
class AuditThroughputTest {

    @Test
    void sustainedThroughputIntoPostgres() throws Exception {
        final AuditThroughput.Result r = AuditThroughput.run(TestDatabase.create(), 50_000, 2, 1000);
        System.out.println(r);
        assertThat(r.events()).isEqualTo(50_000);
    }
}
