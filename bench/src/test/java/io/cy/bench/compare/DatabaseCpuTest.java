package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseCpuTest {

    private static long cpuOf(Process process) {
        return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    @Test
    void measuredOnlyForADatabaseOnThisMachine() {
        assertThat(DatabaseCpu.isLocal("postgresql://postgres@127.0.0.1:5432/cy_bench")).isTrue();
        assertThat(DatabaseCpu.isLocal("jdbc:postgresql://localhost/cy_bench")).isTrue();
        assertThat(DatabaseCpu.isLocal("postgresql://u:p@[::1]:5432/x")).isTrue();
        assertThat(DatabaseCpu.isLocal("postgresql:///cy_bench")).as("the driver's default host").isTrue();
        assertThat(DatabaseCpu.isLocal("postgresql://db.internal:5432/cy_bench")).isFalse();
        assertThat(DatabaseCpu.isLocal("postgresql://10.0.0.7/cy_bench")).isFalse();
        assertThat(DatabaseCpu.isLocal("not a url")).isFalse();

        assertThat(DatabaseCpu.forUrl(null).measured()).isFalse();
        assertThat(DatabaseCpu.forUrl(null).cpuNanos()).isEqualTo(-1);
        assertThat(DatabaseCpu.forUrl("postgresql://db.internal/x").cpuNanos()).isEqualTo(-1);
        assertThat(DatabaseCpu.forUrl("postgresql://127.0.0.1/x").measured()).isTrue();
    }

    /**
     * A process of the server's that ran a busy child and reaped it, as the postmaster reaps its
     * backends and autovacuum workers: the child's CPU is counted though the child is gone. The
     * shell reports its children's times itself ({@code times}), from the same kernel counters.
     */
    @Test
    void countsTheCpuOfProcessesThatEndedAndWereReaped(@TempDir Path dir) throws Exception {
        final String name = "cy-bench-db-parent-" + ProcessHandle.current().pid();
        final Path shell = dir.resolve(name);
        Files.copy(Path.of("/bin/sh"), shell);
        Files.setPosixFilePermissions(shell, PosixFilePermissions.fromString("rwx------"));
        final Path times = dir.resolve("times");
        final Process parent = new ProcessBuilder(shell.toString(), "-c",
                // Builtins only after the child, so that nothing else is reaped before the reading;
                // then it waits on its input, with no child of its own to outlive it.
                "timeout 0.5 yes > /dev/null; { times; echo end; } > \"$1\"; read -r line", name,
                times.toString()).start();
        try {
            final long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!written(times) && System.nanoTime() < giveUp && parent.isAlive()) {
                TimeUnit.MILLISECONDS.sleep(10);
            }
            final List<String> lines = Files.readAllLines(times);
            final long children = shellTimeNanos(lines.get(1));
            assertThat(children).as("the busy child's CPU").isPositive();

            final long measured = new DatabaseCpu(true, name).cpuNanos();
            assertThat(measured).isBetween(children, children + cpuOf(parent));
        } finally {
            parent.destroyForcibly().waitFor();
        }
    }

    private static boolean written(Path times) throws IOException {
        return Files.exists(times) && Files.readAllLines(times).contains("end");
    }

    /** The sum of a line of the shell's {@code times}, e.g. {@code 0m0.060000s 0m0.230000s}. */
    private static long shellTimeNanos(String line) {
        long sum = 0;
        for (String time : line.trim().split("\\s+")) {
            final int m = time.indexOf('m');
            final long minutes = Long.parseLong(time.substring(0, m));
            final double seconds = Double.parseDouble(time.substring(m + 1, time.length() - 1));
            sum += TimeUnit.MINUTES.toNanos(minutes) + Math.round(seconds * 1e9);
        }
        return sum;
    }

    /**
     * Two busy processes with the server's executable name are counted, from their own CPU time.
     * The name is one of this test's, so that the machine's PostgreSQL is not.
     */
    @Test
    void countsTheCpuOfEveryProcessOfTheServer(@TempDir Path dir) throws Exception {
        final String name = "cy-bench-db-" + ProcessHandle.current().pid();
        final Path busy = dir.resolve(name);
        Files.copy(Path.of("/usr/bin/yes"), busy, StandardCopyOption.COPY_ATTRIBUTES);
        final DatabaseCpu cpu = new DatabaseCpu(true, name);
        assertThat(cpu.cpuNanos()).isZero();
        final Process other = new ProcessBuilder(busy.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        final Process process = new ProcessBuilder(busy.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            final long wanted = TimeUnit.MILLISECONDS.toNanos(200);
            final long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cpuOf(process) < wanted && System.nanoTime() < giveUp) {
                TimeUnit.MILLISECONDS.sleep(10);
            }
            assertThat(cpuOf(process)).as("the busy process's own CPU").isGreaterThanOrEqualTo(wanted);
            // Both keep running: the sum lies between their CPU times read just before and just after it.
            final long low = cpuOf(process) + cpuOf(other);
            final long measured = cpu.cpuNanos();
            final long high = cpuOf(process) + cpuOf(other);
            assertThat(measured).isBetween(low, high);
        } finally {
            process.destroyForcibly().waitFor();
            other.destroyForcibly().waitFor();
        }
    }
}
