package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildProcessTest {

    /** Enough CPU that a clock tick (10 ms) is a small part of it. */
    private static final long ENOUGH_CPU_NANOS = 400_000_000L;

    @TempDir
    Path dir;

    @Test
    void aProcessOfSystemCallsSpendsMuchOfItsTimeInTheKernelAndABusyLoopNone() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "no /proc on this machine");
        // dd with one-byte blocks: a read and a write system call for every byte.
        final long[] dd = spent(List.of("dd", "if=/dev/zero", "of=/dev/null", "bs=1"));
        final long[] loop = spent(List.of("sh", "-c", "while :; do :; done"));

        assertThat(dd[1]).isPositive().isLessThanOrEqualTo(dd[0]);
        assertThat((double) dd[1] / dd[0]).isGreaterThan(0.3);
        assertThat((double) loop[1] / loop[0]).isLessThan(0.1);
    }

    /** Runs {@code command} until it has used enough CPU: its CPU time and its kernel time, in nanoseconds. */
    private long[] spent(List<String> command) throws Exception {
        final ChildProcess process = ChildProcess.start(command.get(0), command, Map.of(), dir,
                dir.resolve(command.get(0) + ".log"));
        try {
            final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (process.cpuNanos() < ENOUGH_CPU_NANOS && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            final long kernel = process.kernelCpuNanos();
            final long cpu = process.cpuNanos();
            assertThat(cpu).isGreaterThanOrEqualTo(ENOUGH_CPU_NANOS);
            return new long[] {cpu, kernel};
        } finally {
            process.stop(Duration.ofSeconds(5));
        }
    }
}
