package io.cy.bench.compare;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the figures were measured on, for the report: cores, CPU, memory, OS, clock source, what a
 * system call costs, and JDK. The CPU is named with its family and model numbers as well as its
 * name, because a VM's CPU is often named only "Intel(R) Xeon(R) Processor" or "AMD EPYC", and VMs
 * of one name differ (Milan, Genoa and Turin are all "AMD EPYC"); the clock source, because it
 * decides what a clock read costs. A system call's cost, and whether the kernel isolates its page
 * tables from user space (Meltdown's mitigation, which some VMs' kernels turn on whatever the CPU),
 * because it moves nginx's CPU per call more than the coordinator's: nginx writes each stream's
 * frames with a system call of their own, the coordinator all that a turn produced with one.
 */
final class Machine {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Path CLOCK_SOURCE = Path.of("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    private static final Path MELTDOWN = Path.of("/sys/devices/system/cpu/vulnerabilities/meltdown");
    private static final Path DEV_NULL = Path.of("/dev/null");
    private static final int SYSTEM_CALLS_PER_ROUND = 100_000;
    private static final int SYSTEM_CALL_ROUNDS = 5;

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
        final Boolean isolation = pageTableIsolation(MELTDOWN);
        if (isolation != null) {
            out.append(", kernel page-table isolation ").append(isolation ? "on" : "off");
        }
        final double systemCall = systemCallMicros(DEV_NULL);
        if (systemCall > 0) {
            out.append(String.format(Locale.ROOT, ", a system call (lseek) %.2f us", systemCall));
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

    /**
     * Whether the kernel isolates its page tables from user space (PTI), from its Meltdown file
     * ("Mitigation: PTI"); null if that cannot be read.
     */
    static Boolean pageTableIsolation(Path meltdownFile) {
        final List<String> lines = lines(meltdownFile);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            return null;
        }
        return lines.get(0).contains("PTI");
    }

    /**
     * Microseconds per {@code lseek} on {@code file}, the least of a few rounds after one to warm
     * up: the cost of entering and leaving the kernel on this machine, with the JDK's native call
     * around it (tens of nanoseconds). The least, because what a busy machine adds is not the
     * call's. 0 if the file cannot be opened.
     */
    static double systemCallMicros(Path file) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long least = Long.MAX_VALUE;
            for (int round = 0; round <= SYSTEM_CALL_ROUNDS; round++) {
                final long start = System.nanoTime();
                for (int i = 0; i < SYSTEM_CALLS_PER_ROUND; i++) {
                    f.getFilePointer();
                }
                final long elapsed = System.nanoTime() - start;
                if (round > 0) {
                    least = Math.min(least, elapsed);
                }
            }
            return least / 1000.0 / SYSTEM_CALLS_PER_ROUND;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
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
