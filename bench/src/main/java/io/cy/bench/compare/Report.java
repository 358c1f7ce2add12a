package io.cy.bench.compare;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The comparison as Markdown: one table per scenario, the memory run, and the targets. */
final class Report {

    private final String direct;
    private final List<String> coordinators;

    /**
     * @param direct the name of the direct column, the base of every ratio unless a table names another
     * @param coordinators the coordinator columns, each compared with the direct one
     */
    Report(String direct, List<String> coordinators) {
        this.direct = direct;
        this.coordinators = List.copyOf(coordinators);
    }

    /** The table of a scenario run against every target: each coordinator column compared with direct. */
    String scenarioTable(ScenarioResult s, int pairs) {
        return scenarioTable(s, pairs, direct, coordinators.stream().filter(s::has).toList());
    }

    /**
     * The table of a scenario whose baseline is another column than direct.
     *
     * @param base the column every ratio and difference is taken to
     * @param compared the columns compared with it
     */
    String scenarioTable(ScenarioResult s, int pairs, String base, List<String> compared) {
        final List<String> targets = s.targets();
        final StringBuilder out = new StringBuilder();
        out.append("### ").append(s.scenario().name()).append(": ").append(s.scenario().description())
                .append(" (").append(s.scenario().runs(pairs)).append(")\n\n");
        out.append("| figure |");
        targets.forEach(t -> out.append(' ').append(t).append(" |"));
        compared.forEach(c -> out.append(' ').append(c).append(" / ").append(base).append(" |")
                .append(' ').append(c).append(" - ").append(base).append(" |"));
        out.append("\n|---|");
        out.append("--:|".repeat(targets.size() + 2 * compared.size()));
        out.append('\n');
        for (Figure figure : Figure.values()) {
            if (figure.optional() && targets.stream().allMatch(t -> Double.isNaN(s.median(t, figure)))) {
                continue;
            }
            out.append("| ").append(figure.label()).append(" |");
            for (String target : targets) {
                out.append(' ').append(figure.format(s.median(target, figure))).append(" |");
            }
            for (String c : compared) {
                final double ratio = figure.hasRatio() ? s.medianRatio(c, base, figure) : Double.NaN;
                out.append(' ').append(Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.2f", ratio)).append(" |");
                out.append(' ').append(figure.formatAdded(s.medianAdded(c, base, figure))).append(" |");
            }
            out.append('\n');
        }
        final String errors = errorLines(s);
        if (!errors.isEmpty()) {
            out.append('\n').append(errors);
        }
        if (!s.systemCalls().isEmpty()) {
            out.append('\n').append(systemCallsLine(s.systemCalls()));
        }
        return out.append('\n').toString();
    }

    /**
     * The proxies' system calls per call, counted by perf in a run of their own after the pairs:
     * reads, writes and the event loop's waits, which say how many times a call wakes the proxy.
     */
    static String systemCallsLine(List<SystemCalls.PerCall> counted) {
        final StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "- system calls per call (every thread of the proxy, counted by perf's tracepoints in a run of"
                        + " %d s of its own after the pairs): ", ScenarioTurns.COUNTED_RUN.toSeconds()));
        for (int i = 0; i < counted.size(); i++) {
            out.append(i == 0 ? "" : "; ").append(counted.get(i).describe());
        }
        return out.append('\n').toString();
    }

    /** One line per run that had errors, with the first error's description. */
    private static String errorLines(ScenarioResult s) {
        final StringBuilder out = new StringBuilder();
        for (String target : s.targets()) {
            final List<RunFigures> runs = s.runs(target);
            for (int i = 0; i < runs.size(); i++) {
                final var result = runs.get(i).result();
                if (result.errorCount() == 0) {
                    continue;
                }
                out.append("- errors, ").append(target).append(" run ").append(i + 1).append(": ");
                boolean first = true;
                for (Map.Entry<String, Long> e : result.errors().entrySet()) {
                    out.append(first ? "" : ", ").append(e.getKey()).append('=').append(e.getValue());
                    first = false;
                }
                if (result.firstError() != null) {
                    out.append(" (first: ").append(result.firstError()).append(')');
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    String memoryTable(MemoryResult m) {
        final StringBuilder out = new StringBuilder();
        out.append("### ").append(m.scenario().name()).append(": ").append(m.scenario().description())
                .append(" (").append(m.scenario().runs(1)).append(")\n\n");
        out.append("| figure | ").append(m.coordinator()).append(" |\n|---|--:|\n");
        row(out, String.format(Locale.ROOT, "streams open at once (of %,d)", m.streams()),
                String.format(Locale.ROOT, "%,d", m.opened()));
        row(out, "time to open them (s)", String.format(Locale.ROOT, "%.1f", m.secondsToOpen()));
        row(out, "heap used after a full GC, before / while open (MiB)",
                mib(m.before().heapUsedBytes()) + " / " + mib(m.during().heapUsedBytes()));
        row(out, "heap per open stream (KiB)", kib(m.heapPerStream()));
        row(out, "RSS before / while open (MiB)", mib(m.before().rssBytes()) + " / " + mib(m.during().rssBytes()));
        row(out, "RSS per open stream (KiB)", kib(m.rssPerStream()));
        row(out, "errors", Long.toString(m.load().errorCount()));
        if (m.load().firstError() != null) {
            out.append("\n- first error: ").append(m.load().firstError()).append('\n');
        }
        return out.append('\n').toString();
    }

    String targets(List<TargetChecks.Check> checks, String coordinator) {
        final StringBuilder out = new StringBuilder("### Targets (").append(coordinator).append(")\n\n");
        out.append("| target | measured | |\n|---|---|---|\n");
        for (TargetChecks.Check c : checks) {
            out.append("| ").append(c.target()).append(" | ").append(c.measured()).append(" | ")
                    .append(c.verdict().name().toLowerCase(Locale.ROOT)).append(" |\n");
        }
        return out.append('\n').toString();
    }

    private static void row(StringBuilder out, String label, String value) {
        out.append("| ").append(label).append(" | ").append(value).append(" |\n");
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024));
    }

    private static String kib(double bytes) {
        return Double.isNaN(bytes) ? "n/a" : String.format(Locale.ROOT, "%.1f", bytes / 1024);
    }
}
