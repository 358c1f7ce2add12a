package io.cy.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How busy the whole machine was over the comparison, from {@code /proc/stat}, against the CPU
 * time the comparison's own processes used: on a small machine, anything else running (a build,
 * another benchmark) takes cores from the processes measured and distorts every figure, so the
 * report says how much of that there was.
 */
final class MachineLoad {

    /** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every common platform. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    /** Cumulative CPU ticks of all cores: busy (user, nice, system, irq, softirq), stolen by the hypervisor, and all. */
    record Ticks(long busy, long steal, long total) {}

    private MachineLoad() {}

    /** The counters now; null where /proc/stat is unavailable. */
    static Ticks read() {
        try {
            return parse(Files.readString(Path.of("/proc/stat")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static Ticks parse(String procStat) {
        for (String line : procStat.split("\n")) {
            if (line.startsWith("cpu ")) {
                final String[] f = line.trim().split("\\s+");
                final long user = Long.parseLong(f[1]);
                final long nice = Long.parseLong(f[2]);
                final long system = Long.parseLong(f[3]);
                final long idle = Long.parseLong(f[4]);
                final long iowait = f.length > 5 ? Long.parseLong(f[5]) : 0;
                final long irq = f.length > 6 ? Long.parseLong(f[6]) : 0;
                final long softirq = f.length > 7 ? Long.parseLong(f[7]) : 0;
                final long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
                final long busy = user + nice + system + irq + softirq;
                return new Ticks(busy, steal, busy + idle + iowait + steal);
            }
        }
        throw new IllegalArgumentException("no cpu line");
    }

    /** The 1-minute load average, or NaN. */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * One line for the report: how busy the machine was between two readings, and how much of
     * it was not the comparison's own processes ({@code ownCpuNanos}).
     */
    static String describe(Ticks start, Ticks end, long ownCpuNanos) {
        if (start == null || end == null || end.total() <= start.total()) {
            return "unknown (no /proc/stat)";
        }
        final double total = end.total() - start.total();
        final double busy = end.busy() - start.busy();
        final double steal = end.steal() - start.steal();
        final double others = Math.max(0, busy - ownCpuNanos / (double) NANOS_PER_TICK);
        return String.format(Locale.ROOT, "CPUs %.0f%% busy, %.0f%% stolen by the hypervisor; processes outside the"
                + " comparison used %.0f%% of the machine%s", 100 * busy / total, 100 * steal / total,
                100 * others / total, others / total > 0.05 ? " (every figure is distorted by that)" : "");
    }
}
