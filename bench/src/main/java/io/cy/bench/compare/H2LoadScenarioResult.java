package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The h2load runs of one scenario, per target, in the order they ran (run i of every target
 * belongs to pair i, as in {@link ScenarioResult}), as a table and as target checks.
 */
final class H2LoadScenarioResult {

    /** One row of the table; an optional one is left out when no run has it. */
    private record Row(String label, String format, boolean ratio, boolean optional,
            ToDoubleFunction<H2LoadRun> value) {

        Row(String label, String format, boolean ratio, ToDoubleFunction<H2LoadRun> value) {
            this(label, format, ratio, false, value);
        }
    }

    private static final List<Row> ROWS = List.of(
            new Row("calls/s", "%.0f", true, r -> r.h2load().callsPerSecond()),
            new Row("mean call time (ms)", "%.3f", true, r -> r.h2load().meanCallMicros() / 1e3),
            new Row("max call time (ms)", "%.3f", true, r -> r.h2load().maxCallMicros() / 1e3),
            new Row("time to 1st byte, per connection (ms)", "%.3f", false,
                    r -> r.h2load().meanFirstByteMicros() / 1e3),
            new Row("errors (h2load's, and statuses counted)", "%.0f", false, r -> r.errors() < 0 ? Double.NaN
                    : r.errors()),
            new Row("proxy CPU per call (us)", "%.1f", true, H2LoadRun::proxyCpuPerCallMicros),
            new Row(Figure.PROXY_JIT_CPU.label(), "%.1f", false, H2LoadRun::proxyJitCpuPerCallMicros),
            new Row(Figure.PROXY_KERNEL_CPU.label(), "%.1f", true, H2LoadRun::proxyKernelCpuPerCallMicros),
            new Row("sim CPU per call (us)", "%.1f", true, H2LoadRun::simCpuPerCallMicros),
            new Row(Figure.DATABASE_CPU.label(), "%.1f", false, true, H2LoadRun::databaseCpuPerCallMicros),
            new Row("h2load CPU per call (us)", "%.1f", true, r -> r.h2load().cpuPerCallMicros()));

    private final Scenario scenario;
    private final int connections;
    private final int streams;
    private final Map<String, List<H2LoadRun>> runs = new LinkedHashMap<>();

    H2LoadScenarioResult(Scenario scenario, int connections, int streams) {
        this.scenario = requireNonNull(scenario, "scenario");
        this.connections = connections;
        this.streams = streams;
    }

    Scenario scenario() {
        return scenario;
    }

    void add(String target, H2LoadRun run) {
        runs.computeIfAbsent(target, t -> new ArrayList<>()).add(run);
    }

    boolean has(String target) {
        return runs.containsKey(target);
    }

    List<H2LoadRun> runs(String target) {
        return runs.getOrDefault(target, List.of());
    }

    double median(String target, ToDoubleFunction<H2LoadRun> figure) {
        return ScenarioResult.median(runs(target).stream().mapToDouble(figure).toArray());
    }

    double medianRatio(String target, String base, ToDoubleFunction<H2LoadRun> figure) {
        return pairwise(target, base, figure, true);
    }

    double medianAdded(String target, String base, ToDoubleFunction<H2LoadRun> figure) {
        return pairwise(target, base, figure, false);
    }

    ScenarioResult.PairTally atMostInPairs(String target, String base, String direct,
            ToDoubleFunction<H2LoadRun> figure) {
        return ScenarioResult.PairTally.of(runs(target), runs(base), runs(direct), figure);
    }

    private double pairwise(String target, String base, ToDoubleFunction<H2LoadRun> figure, boolean ratio) {
        final List<H2LoadRun> t = runs(target);
        final List<H2LoadRun> b = runs(base);
        final double[] values = new double[Math.min(t.size(), b.size())];
        for (int i = 0; i < values.length; i++) {
            final double x = figure.applyAsDouble(t.get(i));
            final double y = figure.applyAsDouble(b.get(i));
            values[i] = ratio ? (y == 0 ? Double.NaN : x / y) : x - y;
        }
        return ScenarioResult.median(values);
    }

    long errors(String target) {
        long n = 0;
        for (H2LoadRun run : runs(target)) {
            n += Math.max(0, run.errors());
        }
        return n;
    }

    boolean allCounted(String target) {
        return runs(target).stream().allMatch(r -> r.errors() >= 0);
    }

    /** The Markdown table: every target, then each other target's ratio and difference to {@code base}. */
    String table(String base, int pairs) {
        final List<String> targets = List.copyOf(runs.keySet());
        final List<String> compared = targets.stream().filter(t -> !t.equals(base)).toList();
        final StringBuilder out = new StringBuilder();
        out.append("### ").append(scenario.name()).append(": ").append(scenario.description())
                .append(String.format(Locale.ROOT, " (h2load -c %d -m %d, ", connections, streams))
                .append(scenario.runs(pairs)).append(")\n\n");
        out.append("| figure |");
        targets.forEach(t -> out.append(' ').append(t).append(" |"));
        compared.forEach(c -> out.append(' ').append(c).append(" / ").append(base).append(" | ")
                .append(c).append(" - ").append(base).append(" |"));
        out.append("\n|---|").append("--:|".repeat(targets.size() + 2 * compared.size())).append('\n');
        for (Row row : ROWS) {
            if (row.optional() && targets.stream().allMatch(t -> Double.isNaN(median(t, row.value())))) {
                continue;
            }
            out.append("| ").append(row.label()).append(" |");
            for (String target : targets) {
                out.append(' ').append(format(row.format(), median(target, row.value()))).append(" |");
            }
            for (String c : compared) {
                final double ratio = row.ratio() ? medianRatio(c, base, row.value()) : Double.NaN;
                out.append(' ').append(format("%.2f", ratio).replace("n/a", "")).append(" |");
                final double added = medianAdded(c, base, row.value());
                final String text = format(row.format(), added).replace("n/a", "");
                out.append(' ').append(added >= 0 && !text.isEmpty() ? "+" + text : text).append(" |");
            }
            out.append('\n');
        }
        out.append('\n');
        for (String target : targets) {
            final List<H2LoadRun> list = runs(target);
            for (int i = 0; i < list.size(); i++) {
                out.append("- statuses, ").append(target).append(" run ").append(i + 1).append(": ")
                        .append(list.get(i).describeStatuses())
                        .append(String.format(Locale.ROOT, " (h2load: %d started, %d done)",
                                list.get(i).h2load().started(), list.get(i).h2load().done()))
                        .append('\n');
            }
        }
        return out.append('\n').toString();
    }

    private static String format(String format, double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, format, x);
    }

    /**
     * The targets h2load's runs are held to, as the bench's own: at 64 in flight, the
     * coordinator's CPU per call at most {@link TargetChecks#MAX_CPU_VS_NGINX_MULTIPLEXED}× nginx's;
     * one call at a time, its added mean call time at most nginx's; no errors.
     */
    List<TargetChecks.Check> checks(String direct, String coordinator, String nginx) {
        final List<TargetChecks.Check> checks = new ArrayList<>();
        if (!has(coordinator) || !has(direct)) {
            return checks;
        }
        final String name = scenario.name();
        final boolean nginxRan = nginx != null && has(nginx);
        if (scenario.concurrency() > 1 && nginxRan) {
            final double ratio = medianRatio(coordinator, nginx, H2LoadRun::proxyCpuPerCallMicros);
            checks.add(new TargetChecks.Check(
                    name + ": coordinator CPU per call <= " + TargetChecks.MAX_CPU_VS_NGINX_MULTIPLEXED + "x nginx's",
                    String.format(Locale.ROOT, "%.2fx (%s vs %s)", ratio,
                            TargetChecks.us(median(coordinator, H2LoadRun::proxyCpuPerCallMicros)),
                            TargetChecks.us(median(nginx, H2LoadRun::proxyCpuPerCallMicros))),
                    verdict(ratio <= TargetChecks.MAX_CPU_VS_NGINX_MULTIPLEXED)));
        }
        if (scenario.concurrency() == 1 && nginxRan) {
            final ToDoubleFunction<H2LoadRun> mean = r -> r.h2load().meanCallMicros() / 1e3;
            final double added = medianAdded(coordinator, direct, mean);
            final double nginxAdded = medianAdded(nginx, direct, mean);
            checks.add(new TargetChecks.Check(name + ": added mean call time <= nginx's",
                    TargetChecks.ms(added) + " vs " + TargetChecks.ms(nginxAdded) + " ("
                            + atMostInPairs(coordinator, nginx, direct, mean).describe("nginx") + ")",
                    verdict(added <= nginxAdded)));
        }
        final long errors = errors(coordinator);
        final boolean counted = allCounted(coordinator);
        checks.add(new TargetChecks.Check(name + ": no errors (statuses counted by the coordinator)",
                counted ? errors + " errors" : errors + " errors; statuses not counted in every run",
                verdict(counted && errors == 0)));
        return checks;
    }

    private static TargetChecks.Verdict verdict(boolean met) {
        return met ? TargetChecks.Verdict.MET : TargetChecks.Verdict.MISSED;
    }
}
