package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.MainArguments.Command;
import io.cy.coordinator.MainArguments.Invalid;
import io.cy.coordinator.MainArguments.Options;
import io.cy.coordinator.audit.AuditQuery;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code cy-coordinator}'s command line: what runs, and what each mistake is told. */
class MainArgumentsTest {

    @Test
    void noArgumentsRunTheCoordinator() {
        assertThat(options()).isEqualTo(new Options(Command.RUN, null, null, null));
    }

    @Test
    void configNamesTheFile() {
        assertThat(options("--config", "cy.yaml")).isEqualTo(new Options(Command.RUN, Path.of("cy.yaml"), null, null));
    }

    @Test
    void helpInEitherSpelling() {
        assertThat(options("--help")).isEqualTo(new Options(Command.HELP, null, null, null));
        assertThat(options("-h")).isEqualTo(new Options(Command.HELP, null, null, null));
    }

    @Test
    void printDefaults() {
        assertThat(options("--print-defaults")).isEqualTo(new Options(Command.PRINT_DEFAULTS, null, null, null));
    }

    @Test
    void helpAndDefaultsActWhereTheyAreSoWhatFollowsIsNotRead() {
        assertThat(options("--config", "cy.yaml", "--help", "--no-such-option").command()).isEqualTo(Command.HELP);
        assertThat(options("--print-defaults", "--no-such-option").command()).isEqualTo(Command.PRINT_DEFAULTS);
        assertThat(problem("--no-such-option", "--help")).startsWith("--no-such-option: unknown argument");
    }

    @Test
    void auditQueryWithoutSqlShowsTheLatestEvents() {
        assertThat(options(AuditQuery.FLAG))
                .isEqualTo(new Options(Command.AUDIT_QUERY, null, null, AuditQuery.LATEST));
    }

    @Test
    void auditQueryWithSqlDbUrlAndConfig() {
        assertThat(options("--config", "cy.yaml", AuditQuery.FLAG, "--db-url", "postgresql://cy@db/cy", "SELECT 1"))
                .isEqualTo(new Options(Command.AUDIT_QUERY, Path.of("cy.yaml"), "postgresql://cy@db/cy", "SELECT 1"));
    }

    @Test
    void theSqlMayComeBeforeTheFlag() {
        assertThat(options("SELECT 1", AuditQuery.FLAG))
                .isEqualTo(new Options(Command.AUDIT_QUERY, null, null, "SELECT 1"));
    }

    @Test
    void aSecondSqlStatementIsNamed() {
        assertThat(problem(AuditQuery.FLAG, "SELECT 1", "SELECT 2"))
                .isEqualTo("--audit-query: a second SQL statement 'SELECT 2' (expected: one SQL argument)");
    }

    @Test
    void emptySql() {
        assertThat(problem(AuditQuery.FLAG, " "))
                .isEqualTo("--audit-query: empty SQL (expected: one SQL statement, or none for the latest events)");
    }

    @Test
    void sqlWithoutAuditQuery() {
        assertThat(problem("SELECT 1"))
                .isEqualTo("'SELECT 1': unknown argument (expected: SQL only with --audit-query)");
    }

    @Test
    void dbUrlWithoutAuditQuery() {
        assertThat(problem("--db-url", "postgresql://cy@db/cy"))
                .isEqualTo("--db-url: only with --audit-query (expected: --audit-query --db-url URL)");
    }

    @Test
    void dbUrlWithoutItsValue() {
        assertThat(problem(AuditQuery.FLAG, "--db-url"))
                .isEqualTo("--db-url: missing URL (expected: --db-url postgresql://...)");
    }

    @Test
    void dbUrlFollowedByAnotherOptionIsNotTakenAsTheUrl() {
        assertThat(problem(AuditQuery.FLAG, "--db-url", "--config", "x.yaml"))
                .isEqualTo("--db-url: '--config' is not a URL (expected: --db-url postgresql://...)");
    }

    @Test
    void emptyDbUrl() {
        assertThat(problem(AuditQuery.FLAG, "--db-url", ""))
                .isEqualTo("--db-url: empty URL (expected: --db-url postgresql://...)");
    }

    @Test
    void dbUrlTwiceRepeatsNeitherUrl() {
        final String problem = problem(AuditQuery.FLAG, "--db-url", "postgresql://cy:first-secret@db/cy",
                "--db-url", "postgresql://cy:second-secret@db/cy");

        assertThat(problem).isEqualTo("--db-url: given twice (expected: --db-url postgresql://...)");
    }

    @Test
    void aDatabaseUrlWithoutDbUrlIsNotTakenAsSqlNorRepeated() {
        for (String url : new String[] {"postgresql://cy:s3cret@db/cy", "postgres://cy:s3cret@db/cy",
                "jdbc:postgresql://db/cy?password=s3cret"}) {
            assertThat(problem(AuditQuery.FLAG, url))
                    .isEqualTo("argument 2: a database URL without --db-url (expected: --db-url postgresql://...)");
            assertThat(problem(url)).doesNotContain("s3cret");
        }
        assertThat(problem(AuditQuery.FLAG, "SELECT 1", "postgresql://cy:s3cret@db/cy"))
                .isEqualTo("argument 3: a database URL without --db-url (expected: --db-url postgresql://...)");
    }

    @Test
    void configWithoutItsValue() {
        assertThat(problem("--config")).isEqualTo("--config: missing file name (expected: --config FILE)");
    }

    @Test
    void configFollowedByAnotherOptionIsNotTakenAsTheFile() {
        assertThat(problem("--config", AuditQuery.FLAG))
                .isEqualTo("--config: '--audit-query' is not a file name (expected: --config FILE)");
    }

    @Test
    void emptyConfig() {
        assertThat(problem("--config", "")).isEqualTo("--config: empty file name (expected: --config FILE)");
    }

    @Test
    void configTwice() {
        assertThat(problem("--config", "a.yaml", "--config", "b.yaml"))
                .isEqualTo("--config: given twice (expected: --config FILE)");
    }

    @Test
    void unknownOption() {
        assertThat(problem("--verbose")).isEqualTo(
                "--verbose: unknown argument (expected: --config, --print-defaults, --audit-query, --db-url or --help)");
        assertThat(problem(AuditQuery.FLAG, "-x")).startsWith("-x: unknown argument (expected: ");
    }

    @Test
    void everyProblemExitsWithTwo() {
        assertThat(MainArguments.parse("--verbose")).isInstanceOf(Invalid.class)
                .extracting(parsed -> ((Invalid) parsed).exitCode()).isEqualTo(2);
    }

    private static Options options(String... args) {
        final MainArguments.Parsed parsed = MainArguments.parse(args);
        assertThat(parsed).isInstanceOf(Options.class);
        return (Options) parsed;
    }

    private static String problem(String... args) {
        final MainArguments.Parsed parsed = MainArguments.parse(args);
        assertThat(parsed).isInstanceOf(Invalid.class);
        final Invalid invalid = (Invalid) parsed;
        assertThat(invalid.exitCode()).isEqualTo(MainArguments.BAD_ARGUMENTS);
        return invalid.problem();
    }
}
