package io.cy.coordinator;

import io.cy.coordinator.audit.AuditQuery;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of {@code cy-coordinator}, parsed without exiting, so that every way of getting
 * it wrong can be tested; {@link Main} prints the usage and exits. A problem names the argument and
 * what was expected, and never repeats a database URL (it may hold a password).
 */
final class MainArguments {

    /** For arguments that cannot be run, as usual for command-line tools; 1 is for failures while running. */
    static final int BAD_ARGUMENTS = 2;

    private static final String EXPECTED_URL = "(expected: --db-url postgresql://...)";
    private static final String EXPECTED_FILE = "(expected: --config FILE)";

    private MainArguments() {}

    /** What the command line asks for. */
    enum Command {
        RUN, HELP, PRINT_DEFAULTS, AUDIT_QUERY
    }

    /** Either {@link Options} or {@link Invalid}. */
    sealed interface Parsed permits Options, Invalid {}

    /**
     * Arguments that can be run.
     *
     * @param configFile the {@code --config} file, null when not given ({@code COORDINATOR_CONFIG} may name one)
     * @param dbUrl the {@code --db-url}, null when not given; only with {@link Command#AUDIT_QUERY}
     * @param sql the SQL to run, {@link AuditQuery#LATEST} when none was given; null unless {@link Command#AUDIT_QUERY}
     */
    record Options(Command command, Path configFile, String dbUrl, String sql) implements Parsed {}

    /** Arguments that cannot be run: what is wrong with them, and the exit code that says so. */
    record Invalid(String problem, int exitCode) implements Parsed {}

    static Parsed parse(String... args) {
        Path configFile = null;
        boolean auditQuery = false;
        String dbUrl = null;
        final List<String> sql = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            switch (arg) {
                case "--config" -> {
                    final String problem = valueProblem(args, i, configFile != null, "file name", EXPECTED_FILE);
                    if (problem != null) {
                        return invalid(problem);
                    }
                    configFile = Path.of(args[++i]);
                }
                case AuditQuery.FLAG -> auditQuery = true;
                case "--db-url" -> {
                    // Neither URL is repeated when given twice: they may hold passwords.
                    final String problem = valueProblem(args, i, dbUrl != null, "URL", EXPECTED_URL);
                    if (problem != null) {
                        return invalid(problem);
                    }
                    dbUrl = args[++i];
                }
                // As before: help and the defaults are printed as soon as they are seen.
                case "--print-defaults" -> {
                    return new Options(Command.PRINT_DEFAULTS, null, null, null);
                }
                case "-h", "--help" -> {
                    return new Options(Command.HELP, null, null, null);
                }
                default -> {
                    if (isOption(arg)) {
                        return invalid(arg + ": unknown argument (expected: --config, --print-defaults, "
                                + AuditQuery.FLAG + ", --db-url or --help)");
                    }
                    if (isDatabaseUrl(arg)) {
                        return invalid("argument " + (i + 1) + ": a database URL without --db-url " + EXPECTED_URL);
                    }
                    sql.add(arg);
                }
            }
        }
        if (!auditQuery) {
            if (dbUrl != null) {
                return invalid("--db-url: only with " + AuditQuery.FLAG + " (expected: " + AuditQuery.FLAG
                        + " --db-url URL)");
            }
            if (!sql.isEmpty()) {
                return invalid("'" + sql.get(0) + "': unknown argument (expected: SQL only with "
                        + AuditQuery.FLAG + ")");
            }
            return new Options(Command.RUN, configFile, null, null);
        }
        if (sql.size() > 1) {
            return invalid(AuditQuery.FLAG + ": a second SQL statement '" + sql.get(1)
                    + "' (expected: one SQL argument)");
        }
        if (sql.size() == 1 && sql.get(0).isBlank()) {
            return invalid(AuditQuery.FLAG + ": empty SQL (expected: one SQL statement, or none for the latest events)");
        }
        return new Options(Command.AUDIT_QUERY, configFile, dbUrl, sql.isEmpty() ? AuditQuery.LATEST : sql.get(0));
    }

    /**
     * What is wrong with the value of the option at {@code args[i]}, or null. A value that looks
     * like an option is more likely a forgotten value than a file or URL named so ({@code ./-x}
     * names such a file).
     */
    private static String valueProblem(String[] args, int i, boolean given, String what, String expected) {
        final String option = args[i];
        if (given) {
            return option + ": given twice " + expected;
        }
        if (i + 1 >= args.length) {
            return option + ": missing " + what + " " + expected;
        }
        final String value = args[i + 1];
        if (isOption(value)) {
            return option + ": '" + value + "' is not a " + what + " " + expected;
        }
        if (value.isBlank()) {
            return option + ": empty " + what + " " + expected;
        }
        return null;
    }

    private static boolean isOption(String arg) {
        return arg.startsWith("-");
    }

    /** The forms {@code DbUrl} takes; no SQL statement starts so. */
    private static boolean isDatabaseUrl(String arg) {
        final String value = arg.strip();
        return value.startsWith("postgresql://") || value.startsWith("postgres://")
                || value.startsWith("jdbc:postgresql:");
    }

    private static Invalid invalid(String problem) {
        return new Invalid(problem, BAD_ARGUMENTS);
    }
}
