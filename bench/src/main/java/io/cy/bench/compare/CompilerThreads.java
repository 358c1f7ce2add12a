package io.cy.bench.compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time a JVM has spent in its JIT compiler threads, read from Linux's {@code /proc}.
 *
 * <p>On two shared cores HotSpot's C2 compiler keeps recompiling the forwarding path for tens of
 * seconds of load, and each new connection can start another round. That time is real and stays
 * in the process's CPU per call; this part of it shows how much of a short run was warm-up.
 */
final class CompilerThreads {

    private static final Path PROC = Path.of("/proc");

    private CompilerThreads() {}

    /** Nanoseconds on CPU of {@code pid}'s C1 and C2 compiler threads; -1 where /proc does not tell. */
    static long cpuNanos(long pid) {
        return cpuNanos(PROC.resolve(Long.toString(pid)).resolve("task"));
    }

    /**
     * The same for a {@code /proc/<pid>/task} directory: user and kernel time of each compiler
     * thread, from its {@code stat} (in clock ticks, as the process's own CPU time is counted).
     * HotSpot names those threads {@code C1 CompilerThread<n>} and {@code C2 CompilerThread<n>},
     * which the kernel cuts to 15 characters. A thread that ends while it is read counts for nothing.
     */
    static long cpuNanos(Path taskDir) {
        if (!Files.isDirectory(taskDir)) {
            return -1;
        }
        try (Stream<Path> threads = Files.list(taskDir)) {
            long total = 0;
            for (Path thread : (Iterable<Path>) threads::iterator) {
                final ProcStat stat = ProcStat.read(thread.resolve("stat"));
                if (stat != null && isCompiler(stat.comm())) {
                    total += stat.cpuNanos();
                }
            }
            return total;
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }

    private static boolean isCompiler(String comm) {
        return comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre");
    }
}
