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
        thread("101", "C2 CompilerThre", "1500 20 3");
        thread("102", "C1 CompilerThre", "700 1 1");
        thread("103", "cy-coordinator-", "99999 5 5");
        thread("104", "GC Thread#0", "12345 5 5");

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(2200);
    }

    @Test
    void aThreadThatEndedWhileReadCountsForNothing() throws IOException {
        thread("101", "C2 CompilerThre", "1500 20 3");
        Files.createDirectory(tasks.resolve("102"));

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(1500);
    }

    @Test
    void unreadableFiguresAreNotGuessed() throws IOException {
        thread("101", "C2 CompilerThre", "garbage");

        assertThat(CompilerThreads.cpuNanos(tasks)).isEqualTo(-1);
        assertThat(CompilerThreads.cpuNanos(tasks.resolve("no-such-process"))).isEqualTo(-1);
    }

    @Test
    void findsThisJvmsCompilerThreads() {
        // The test JVM has compiled something by now; a zero would mean the thread names changed.
        assertThat(CompilerThreads.cpuNanos(ProcessHandle.current().pid())).isPositive();
    }

    private void thread(String tid, String comm, String schedstat) throws IOException {
        final Path dir = Files.createDirectory(tasks.resolve(tid));
        Files.writeString(dir.resolve("comm"), comm + "\n");
        Files.writeString(dir.resolve("schedstat"), schedstat + "\n");
    }
}
