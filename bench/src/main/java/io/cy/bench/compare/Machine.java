package io.cy.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the figures were measured on, for the report: cores, CPU, memory, OS, clock source and JDK.
 * The CPU is named with its family and model numbers as well as its name, because a VM's CPU is
 * often named only "Intel(R) Xeon(R) Processor" or "AMD EPYC", and VMs of one name differ (Milan,
 * Genoa and Turin are all "AMD EPYC"); the clock source, because it decides what a clock read costs.
 */
final class Machine {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Path CLOCK_SOURCE = Path.of("/sys/devices/system/clocksource/clocksource0/current_clocksource");

    private Machine() {}

    static String describe() {
        final StringBuilder out = new StringBuilder();
        out.append(Runtime.getRuntime().availableProcessors()).append(" cores");
        final String cpu = cpu(lines(CPUINFO));
        if (cpu != null) {
            out.append(", ").append(cpu);
        }
        final String memTotal = procField(lines(Path.of("/proc/meminfo")), "MemTotal");
        if (memTotal != null) {
            try {
                final long kb = Long.parseLong(memTotal.replace("kB", "").trim());
                out.append(String.format(Locale.ROOT, ", %.1f GiB memory", kb / (1024.0 * 1024)));
            } catch (NumberFormatException e) {
                // Leave it out.
            }
        }
        out.append(", ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"));
        final String clock = clockSource(CLOCK_SOURCE);
        if (clock != null) {
            out.append(", clock source ").append(clock);
        }
        out.append(", ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version"));
        return out.toString();
    }

    /**
     * The first processor's name with its family and model, e.g. "AMD EPYC (family 26, model 2)";
     * the name alone when the numbers are absent, null when the name is.
     */
    static String cpu(List<String> cpuinfo) {
        final String name = procField(cpuinfo, "model name");
        if (name == null) {
            return null;
        }
        final String family = procField(cpuinfo, "cpu family");
        final String model = procField(cpuinfo, "model");
        if (family == null || model == null) {
            return name;
        }
        return name + " (family " + family + ", model " + model + ")";
    }

    /** The kernel's clock source (tsc, kvm-clock, ...); null if it cannot be read. */
    static String clockSource(Path file) {
        final List<String> lines = lines(file);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            return null;
        }
        return lines.get(0).trim();
    }

    /** The value of the first "name : value" line; null if absent. */
    static String procField(List<String> lines, String name) {
        for (String line : lines) {
            final int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable: the report says less.
            return List.of();
        }
    }
}
