package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
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
