package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code audit.embedded_database_dir}: off unless set, an absolute directory of its own when set. */
class EmbeddedDatabaseSettingTest {

    private static CoordinatorConfig.Audit audit(String yaml, Map<String, String> env) {
        return ConfigLoaderTest.yaml(yaml, env).config().audit();
    }

    @Test
    void offByDefault() {
        assertThat(audit("", Map.of()).embeddedDatabaseDir()).isNull();
    }

    @Test
    void comesFromTheFileOrFromItsVariableNormalized() {
        assertThat(audit("audit: {embedded_database_dir: /var/tmp/cy-pg}", Map.of()).embeddedDatabaseDir())
                .isEqualTo(Path.of("/var/tmp/cy-pg"));
        assertThat(audit("audit: {embedded_database_dir: /var/tmp/cy-pg}",
                Map.of("CY_AUDIT_EMBEDDED_DATABASE_DIR", "/tmp/quickstart/../cy-pg")).embeddedDatabaseDir())
                .isEqualTo(Path.of("/tmp/cy-pg"));
    }

    @Test
    void isKeptBesideADbUrlForTheCoordinatorToDecide() {
        final CoordinatorConfig.Audit audit = audit("audit: {embedded_database_dir: /var/tmp/cy-pg}",
                Map.of("DB_URL", "postgresql://cy@db.internal/cy"));

        assertThat(audit.settings().dbUrl()).isNotNull();
        assertThat(audit.embeddedDatabaseDir()).isEqualTo(Path.of("/var/tmp/cy-pg"));
    }

    @Test
    void isIgnoredWhenAuditingIsOff() {
        assertThat(audit("audit: {enabled: false, embedded_database_dir: /var/tmp/cy-pg}", Map.of())
                .embeddedDatabaseDir()).isNull();
    }

    @Test
    void aRelativePathIsRejectedNamingTheSetting() {
        assertThatThrownBy(() -> audit("", Map.of("CY_AUDIT_EMBEDDED_DATABASE_DIR", "pgdata")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("audit.embedded_database_dir: 'pgdata' (expected: an absolute path, e.g."
                        + " /var/tmp/cy-audit-postgres)");
    }

    @Test
    void aListIsRejectedNamingTheSetting() {
        assertThatThrownBy(() -> audit("audit: {embedded_database_dir: [/a, /b]}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: ")
                .hasMessageContaining("expected: a single value");
    }

    @Test
    void whatIsNoPathIsRejectedNamingTheSetting() {
        assertThatThrownBy(() -> audit("", Map.of("CY_AUDIT_EMBEDDED_DATABASE_DIR", "/tmp/a\u0000b")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: ")
                .hasMessageContaining("is not a path");
    }

    @Test
    void theSpoolDirectoryIsNotTheDatabasesToShare() {
        assertThatThrownBy(() -> audit("audit: {spool_dir: /var/tmp/cy, embedded_database_dir: /var/tmp/cy/pg}",
                Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("audit.embedded_database_dir: '/var/tmp/cy/pg' overlaps audit.spool_dir /var/tmp/cy"
                        + " (expected: separate directories)");
        assertThatThrownBy(() -> audit("audit: {spool_dir: /var/tmp/cy/spool, embedded_database_dir: /var/tmp/cy}",
                Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: ");
    }
}
