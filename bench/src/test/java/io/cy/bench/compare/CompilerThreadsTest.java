package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompilerThreadsTest {

    @TempDir
    Path tasks;

    @Test
    void addsTheCompilerThreadsOnly() throws IOException {
        thread("101", "C2 CompilerThre", 150, 20);
        thread("102", "C1 CompilerThre", 7, 0);
        thread("103", "cy-coordinator-", 99999, 5);
        thread("104", "GC Thread#0", 12345, 5);

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(177 * ProcStat.NANOS_PER_TICK);
    }

    @Test
    void aThreadThatEndedWhileReadCountsForNothing() throws IOException {
        thread("101", "C2 CompilerThre", 150, 0);
        Files.createDirectory(tasks.resolve("102"));

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(150 * ProcStat.NANOS_PER_TICK);
    }

    @Test
    void unreadableFiguresAreNotGuessed() throws IOException {
        final Path dir = Files.createDirectory(tasks.resolve("101"));
        Files.writeString(dir.resolve("stat"), "101 (C2 CompilerThre) S 1 2 3 garbage\n");

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(-1);
        assertThat(CompilerThreads.cpuNanos(tasks.resolve("no-such-process"))).isEqualTo(-1);
    }

    @Test
    void findsThisJvmsCompilerThreads() {
        // The kernel counts the compiler threads' time in clock ticks: give them work until one
        // is counted. A zero that stays would mean the thread names changed.
        final long deadline = System.nanoTime() + 30_000_000_000L;
        long nanos = CompilerThreads.cpuNanos(ProcessHandle.current().pid());
        while (nanos == 0 && System.nanoTime() < deadline) {
            burnSomeCode();
            nanos = CompilerThreads.cpuNanos(ProcessHandle.current().pid());
        }
        assertThat(nanos).isPositive();
    }

    private static void burnSomeCode() {
        // Formatting runs through enough code to keep C1 and C2 busy for a while.
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {
            sum += String.format("%d-%x", i, i * 31).hashCode();
        }
        if (sum == 42) {
            System.out.println(sum);
        }
    }

    private void thread(String tid, String comm, long utimeTicks, long stimeTicks) throws IOException {
        final Path dir = Files.createDirectory(tasks.resolve(tid));
        Files.writeString(dir.resolve("stat"), tid + " (" + comm + ") S 1 1 1 0 -1 4194368 10 0 0 0 "
                + utimeTicks + " " + stimeTicks + " 0 0 20 0 1 0 100 0 0\n");
    }
}
