package io.cy.bench.compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
     * The same for a {@code /proc/<pid>/task} directory: the first field of each compiler thread's
     * {@code schedstat} (time on CPU in nanoseconds). HotSpot names those threads
     * {@code C1 CompilerThread<n>} and {@code C2 CompilerThread<n>}, which {@code comm} cuts to 15
     * characters. A thread that ends while it is read counts for nothing.
     */
    static long cpuNanos(Path taskDir) {
        if (!Files.isDirectory(taskDir)) {
            return -1;
        }
        try (Stream<Path> threads = Files.list(taskDir)) {
            long total = 0;
            for (Path thread : (Iterable<Path>) threads::iterator) {
                final long nanos = compilerNanos(thread);
                if (nanos == -1) {
                    return -1;
                }
                total += nanos;
            }
            return total;
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }

    /** 0 for a thread that is not a compiler thread or has gone; -1 when schedstat is unreadable. */
    private static long compilerNanos(Path thread) throws IOException {
        final String comm;
        final String schedstat;
        try {
            comm = Files.readString(thread.resolve("comm"), StandardCharsets.UTF_8).strip();
            if (!comm.startsWith("C1 CompilerThre") && !comm.startsWith("C2 CompilerThre")) {
                return 0;
            }
            schedstat = Files.readString(thread.resolve("schedstat"), StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return 0;
        }
        final int space = schedstat.indexOf(' ');
        try {
            return Long.parseLong(space < 0 ? schedstat : schedstat.substring(0, space));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
