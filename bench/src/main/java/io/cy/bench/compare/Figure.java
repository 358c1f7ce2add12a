package io.cy.bench.compare;

import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** One row of a scenario's table: a number taken from each run, its unit and how it is printed. */
enum Figure {

    CALLS_PER_S("calls/s", "%.0f", r -> r.result().callsPerSecond()),
    CHUNKS_PER_S("chunks/s", "%.0f", r -> r.result().chunksPerSecond()),
    TTFC_P50("time to first chunk p50 (ms)", "%.3f", r -> r.result().ttfcSummary().p50() / 1e6),
    TTFC_P90("time to first chunk p90 (ms)", "%.3f", r -> r.result().ttfcSummary().p90() / 1e6),
    TTFC_P99("time to first chunk p99 (ms)", "%.3f", r -> r.result().ttfcSummary().p99() / 1e6),
    TTFC_MAX("time to first chunk max (ms)", "%.3f", r -> r.result().ttfcSummary().max() / 1e6),
    GAP_P50("gap between chunks p50 (us)", "%.1f", r -> r.result().gapSummary().p50() / 1e3),
    GAP_P99("gap between chunks p99 (us)", "%.1f", r -> r.result().gapSummary().p99() / 1e3),
    CALL_P50("call time p50 (ms)", "%.3f", r -> r.result().callSummary().p50() / 1e6),
    CALL_P99("call time p99 (ms)", "%.3f", r -> r.result().callSummary().p99() / 1e6),
    ERRORS("errors", "%.0f", r -> r.result().errorCount()),
    PROXY_CPU("proxy CPU per call (us)", "%.1f", RunFigures::proxyCpuPerCallMicros),
    PROXY_JIT_CPU("of which in the JIT compiler (us)", "%.1f", RunFigures::proxyJitCpuPerCallMicros),
    PROXY_KERNEL_CPU("of which in the kernel (us)", "%.1f", RunFigures::proxyKernelCpuPerCallMicros),
    SIM_CPU("sim CPU per call (us)", "%.1f", RunFigures::simCpuPerCallMicros),
    DATABASE_CPU("audit database CPU per call (us)", "%.1f", RunFigures::databaseCpuPerCallMicros),
    CLIENT_CPU("load generator CPU per call (us)", "%.1f", RunFigures::clientCpuPerCallMicros);

    private final String label;
    private final String format;
    private final ToDoubleFunction<RunFigures> value;

    Figure(String label, String format, ToDoubleFunction<RunFigures> value) {
        this.label = label;
        this.format = format;
        this.value = value;
    }

    String label() {
        return label;
    }

    double of(RunFigures run) {
        return value.applyAsDouble(run);
    }

    /** The value as the table shows it; "n/a" for NaN. */
    String format(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, format, x);
    }

    /** A difference, with its sign. */
    String formatAdded(double x) {
        if (Double.isNaN(x)) {
            return "";
        }
        final String s = String.format(Locale.ROOT, format, x);
        return x >= 0 && !s.startsWith("-") ? "+" + s : s;
    }

    /**
     * Whether a ratio to the base column means something for this row. The proxy's CPU has one
     * only against another proxy (the bridge against gRPC through the same coordinator); direct
     * has none, so its ratio is NaN and left blank.
     */
    boolean hasRatio() {
        // Compile time after a warm-up is near zero on both sides: a ratio of two small noises.
        // The database's CPU over a run that writes nothing is its background work: no base to divide by.
        return this != ERRORS && this != PROXY_JIT_CPU && this != DATABASE_CPU;
    }

    /** Whether the table leaves this row out when no run has it (the database's, when not on this machine). */
    boolean optional() {
        return this == DATABASE_CPU;
    }
}
