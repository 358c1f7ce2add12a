package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemCallsTest {

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

        assertThatThrownBy(() -> perf.start(List.of(), Duration.ofSeconds(1), dir.resolve("perf.log")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pids: none (expected: at least one process)");
    }

    @Test
    void perfCountsTheReadsAndWritesOfARunningProcess() throws Exception {
        final Optional<SystemCalls> found = SystemCalls.find();
        assumeTrue(found.isPresent(), "perf cannot count system calls on this machine");
        // dd with one-byte blocks: a read and a write for every byte, for as long as it runs.
        final ChildProcess dd = ChildProcess.start("dd", List.of("dd", "if=/dev/zero", "of=/dev/null", "bs=1"),
                Map.of(), dir, dir.resolve("dd.log"));
        try {
            final Map<String, Long> counts = found.get().start(dd.pids(), Duration.ofMillis(500),
                    dir.resolve("perf.log")).await();
            final SystemCalls.PerCall perRun = new SystemCalls.PerCall("dd", 1, counts);

            assertThat(perRun.reads()).isGreaterThan(1000);
            // One write per read, and little else; each event's counter opens at its own instant,
            // so the edges of the window may differ by a few calls between them.
            assertThat(perRun.writes()).isCloseTo(perRun.reads(), withinPercentage(1));
            assertThat(perRun.all()).isCloseTo(perRun.reads() + perRun.writes(), withinPercentage(1));
        } finally {
            dd.stop(Duration.ofSeconds(5));
        }
    }
}
