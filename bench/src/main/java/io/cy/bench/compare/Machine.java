package io.cy.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** What the figures were measured on, for the report: cores, CPU model, memory, OS and JDK. */
final class Machine {

    private Machine() {}

    static String describe() {
        final StringBuilder out = new StringBuilder();
        out.append(Runtime.getRuntime().availableProcessors()).append(" cores");
        final String model = procField("/proc/cpuinfo", "model name");
        if (model != null) {
            out.append(", ").append(model);
        }
        final String memTotal = procField("/proc/meminfo", "MemTotal");
        if (memTotal != null) {
            try {
                final long kb = Long.parseLong(memTotal.replace("kB", "").trim());
                out.append(String.format(Locale.ROOT, ", %.1f GiB memory", kb / (1024.0 * 1024)));
            } catch (NumberFormatException e) {
                // Leave it out.
            }
        }
        out.append(", ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
                .append(", ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version"));
        return out.toString();
    }

    /** The value of the first "name : value" line in a /proc file; null if absent. */
    static String procField(String file, String name) {
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                final int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                    return line.substring(colon + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable: the report says less.
        }
        return null;
    }
}
