package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemCallsTest {

    private static final int BYTES = 2000;

    @TempDir
    Path dir;

    @Test
    void perfStatsCsvLinesGiveEachEventsCountAndMinusOneForACountPerfCouldNotTake() {
        final String text = String.join("\n",
                "# started on Mon Dec  7 18:00:00 2026",
                "",
                "37401,,raw_syscalls:sys_enter,6012549902,100.00,,",
                "12183,,syscalls:sys_enter_recvfrom,6012549902,100.00,,",
                "<not supported>,,syscalls:sys_enter_epoll_pwait2,0,100.00,,",
                "<not counted>,,syscalls:sys_enter_writev,0,0.00,,",
                "Error: something perf says",
                "");

        assertThat(SystemCalls.parse(text)).containsExactly(
                Map.entry("raw_syscalls:sys_enter", 37401L),
                Map.entry("syscalls:sys_enter_recvfrom", 12183L),
                Map.entry("syscalls:sys_enter_epoll_pwait2", -1L),
                Map.entry("syscalls:sys_enter_writev", -1L));
    }

    @Test
    void perCallAddsUpTheReadsTheWritesAndTheWaitsOfEveryKindAndLeavesOutWhatWasNotCounted() {
        // nginx's figures of one call at a time: two reads, five writes, three waits, one getsockopt.
        final SystemCalls.PerCall nginx = new SystemCalls.PerCall("nginx", 1000, Map.of(
                SystemCalls.ALL, 11_100L,
                SystemCalls.enter("recvfrom"), 2000L,
                SystemCalls.enter("writev"), 5000L,
                SystemCalls.enter("sendto"), 0L,
                SystemCalls.enter("epoll_wait"), 3100L,
                SystemCalls.enter("epoll_pwait2"), -1L));

        assertThat(nginx.all()).isCloseTo(11.1, within(1e-9));
        assertThat(nginx.reads()).isCloseTo(2.0, within(1e-9));
        assertThat(nginx.writes()).isCloseTo(5.0, within(1e-9));
        assertThat(nginx.waits()).isCloseTo(3.1, within(1e-9));
        assertThat(nginx.describe()).isEqualTo("nginx 11.10 (reads 2.00, writes 5.00, waits 3.10; 1,000 calls)");
    }

    @Test
    void aGroupWithNothingCountedOrARunWithoutCallsIsNotAFigure() {
        final SystemCalls.PerCall noWaits = new SystemCalls.PerCall("coordinator", 10, Map.of(
                SystemCalls.ALL, 60L, SystemCalls.enter("recvfrom"), 20L, SystemCalls.enter("epoll_pwait2"), -1L));
        final SystemCalls.PerCall noCalls = new SystemCalls.PerCall("coordinator", 0, Map.of(SystemCalls.ALL, 60L));

        assertThat(noWaits.waits()).isNaN();
        assertThat(noWaits.writes()).isNaN();
        assertThat(noWaits.describe()).isEqualTo("coordinator 6.00 (reads 2.00, writes n/a, waits n/a; 10 calls)");
        assertThat(noCalls.all()).isNaN();
    }

    @Test
    void theReportsLineNamesHowTheyWereCountedAndGivesEachProxyInTurn() {
        final String line = Report.systemCallsLine(List.of(
                new SystemCalls.PerCall("nginx", 100, Map.of(SystemCalls.ALL, 1110L)),
                new SystemCalls.PerCall("coordinator", 100, Map.of(SystemCalls.ALL, 613L))));

        assertThat(line).isEqualTo("- system calls per call (every thread of the proxy, counted by perf's"
                + " tracepoints in a run of 3 s of its own after the pairs): nginx 11.10 (reads n/a, writes n/a,"
                + " waits n/a; 100 calls); coordinator 6.13 (reads n/a, writes n/a, waits n/a; 100 calls)\n");
    }

    @Test
    void countingNoProcessIsRefusedNamingWhatWasExpected() {
        final SystemCalls perf = new SystemCalls(Path.of("perf"), List.of(SystemCalls.ALL));

        assertThatThrownBy(() -> perf.start(List.of(), dir.resolve("perf.log")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pids: none (expected: at least one process)");
    }

    @Test
    void theCountStartsWhenPerfHasAttachedAndEndsWhenToldWithNoAllowanceOfTime() throws Exception {
        final Optional<SystemCalls> found = SystemCalls.find();
        assumeTrue(found.isPresent(), "perf cannot count system calls on this machine");
        // dd with one-byte blocks reads and writes once for each byte it is given, and waits for the first.
        final Process dd = new ProcessBuilder("dd", "bs=1", "count=" + BYTES, "of=/dev/null", "status=none")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            final SystemCalls.Counting counting = found.get().start(List.of(dd.pid()), dir.resolve("perf.log"));
            counting.enable();
            try (OutputStream in = dd.getOutputStream()) {
                in.write(new byte[BYTES]);
            }
            assertThat(dd.waitFor(30, TimeUnit.SECONDS)).isTrue();
            final SystemCalls.PerCall counted = new SystemCalls.PerCall("dd", 1, counting.finish());

            // Every byte's write was counted: the count began before the first byte and ended after
            // the last. The read dd waits in may have been entered before it began.
            assertThat(counted.writes()).isEqualTo(BYTES);
            assertThat(counted.reads()).isBetween(BYTES - 1.0, BYTES + 0.0);
            assertThat(dir.resolve("perf.control")).doesNotExist();
            assertThat(dir.resolve("perf.ack")).doesNotExist();
        } finally {
            dd.destroyForcibly();
        }
    }

    @Test
    void perfThatCannotAttachIsSaidWithWhatItWroteInsteadOfWaitedForEndlessly() throws Exception {
        final Optional<SystemCalls> found = SystemCalls.find();
        assumeTrue(found.isPresent(), "perf cannot count system calls on this machine");
        final Process gone = new ProcessBuilder("true").start();
        assertThat(gone.waitFor(30, TimeUnit.SECONDS)).isTrue();

        final SystemCalls.Counting counting = found.get().start(List.of(gone.pid()), dir.resolve("perf.log"));
        try {
            assertThatThrownBy(counting::enable)
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("perf stat did not acknowledge 'enable': ")
                    .hasMessageNotContaining("(it wrote nothing)");
        } finally {
            counting.abandon();
        }
    }
}
