package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleBinaryOperator;
import java.util.function.ToDoubleFunction;

/**
 * The measured runs of one load scenario, per target, in the order they ran. Run i of every
 * target belongs to pair i: ratios and differences are taken within a pair, then the median
 * over pairs, so a slow drift of the machine over the run affects both sides of each pair alike.
 */
final class ScenarioResult {

    private final Scenario scenario;
    private final Map<String, List<RunFigures>> runs = new LinkedHashMap<>();
    private final List<SystemCalls.PerCall> systemCalls = new ArrayList<>();

    ScenarioResult(Scenario scenario) {
        this.scenario = requireNonNull(scenario, "scenario");
    }

    Scenario scenario() {
        return scenario;
    }

    void add(String target, RunFigures run) {
        runs.computeIfAbsent(target, t -> new ArrayList<>()).add(run);
    }

    /** A proxy's system calls, counted in a run of their own after the pairs. */
    void addSystemCalls(SystemCalls.PerCall counted) {
        systemCalls.add(requireNonNull(counted, "counted"));
    }

    List<SystemCalls.PerCall> systemCalls() {
        return List.copyOf(systemCalls);
    }

    /** Target names in table order. */
    List<String> targets() {
        return List.copyOf(runs.keySet());
    }

    boolean has(String target) {
        return runs.containsKey(target);
    }

    List<RunFigures> runs(String target) {
        return runs.getOrDefault(target, List.of());
    }

    /** The median of a figure over the target's runs; NaN if none has it. */
    double median(String target, Figure figure) {
        return median(runs(target).stream().mapToDouble(figure::of).toArray());
    }

    /** The median over pairs of {@code target / base}. */
    double medianRatio(String target, String base, Figure figure) {
        return pairwise(target, base, figure, (t, b) -> b == 0 ? Double.NaN : t / b);
    }

    /** The median over pairs of {@code target - base}. */
    double medianAdded(String target, String base, Figure figure) {
        return pairwise(target, base, figure, (t, b) -> t - b);
    }

    /**
     * In how many pairs {@code target}'s figure was at most {@code base}'s, of the pairs in which
     * {@code direct} has the figure too: without it a pair has no added time in either median.
     */
    PairTally atMostInPairs(String target, String base, String direct, Figure figure) {
        return PairTally.of(runs(target), runs(base), runs(direct), figure::of);
    }

    /**
     * In how many of the pairs where both targets and direct had a figure one target's was at most
     * another's. One call at a time the coordinator and nginx are close and the median of a few
     * pairs can fall either way, so a verdict there also says how often each side was ahead.
     */
    record PairTally(int atMost, int pairs) {

        /**
         * Run i of {@code target} against run i of {@code base}. A pair where either lacks the
         * figure, or where {@code direct}'s run i lacks it, is left out: the verdict's medians are
         * of differences to direct, and a pair that has none is not in them either.
         */
        static <R> PairTally of(List<R> target, List<R> base, List<R> direct, ToDoubleFunction<R> figure) {
            int atMost = 0;
            int pairs = 0;
            for (int i = 0; i < Math.min(Math.min(target.size(), base.size()), direct.size()); i++) {
                final double t = figure.applyAsDouble(target.get(i));
                final double b = figure.applyAsDouble(base.get(i));
                if (Double.isNaN(t) || Double.isNaN(b) || Double.isNaN(figure.applyAsDouble(direct.get(i)))) {
                    continue;
                }
                pairs++;
                if (t <= b) {
                    atMost++;
                }
            }
            return new PairTally(atMost, pairs);
        }

        /** e.g. "at most nginx's in 2 of 3 pairs". */
        String describe(String base) {
            return "at most " + base + "'s in " + atMost + " of " + pairs + (pairs == 1 ? " pair" : " pairs");
        }
    }

    private double pairwise(String target, String base, Figure figure, DoubleBinaryOperator op) {
        final List<RunFigures> t = runs(target);
        final List<RunFigures> b = runs(base);
        final int pairs = Math.min(t.size(), b.size());
        final double[] values = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            values[i] = op.applyAsDouble(figure.of(t.get(i)), figure.of(b.get(i)));
        }
        return median(values);
    }

    /** The median of the values that are numbers; NaN if there are none. */
    static double median(double[] values) {
        final double[] numbers = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (numbers.length == 0) {
            return Double.NaN;
        }
        final int mid = numbers.length / 2;
        return numbers.length % 2 == 1 ? numbers[mid] : (numbers[mid - 1] + numbers[mid]) / 2;
    }
}
