package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
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
    void aCountThatCannotMakeItsFifosLeavesNoneBehind() throws Exception {
        // The acknowledgement FIFO's place is taken by a directory that cannot be replaced.
        Files.createDirectories(dir.resolve("perf.ack"));
        Files.writeString(dir.resolve("perf.ack").resolve("kept"), "x");
        final SystemCalls perf = new SystemCalls(Path.of("perf"), List.of(SystemCalls.ALL));

        assertThatThrownBy(() -> perf.start(List.of(ProcessHandle.current().pid()), dir.resolve("perf.log")))
                .isInstanceOf(IOException.class);
        assertThat(dir.resolve("perf.control")).doesNotExist();
        assertThat(dir.resolve("perf.ack").resolve("kept")).exists();
    }

    @Test
    void theCountStartsWhenPerfHasAttachedAndEndsWhenToldWithNoAllowanceOfTime() throws Exception {
        final Optional<SystemCalls> found = SystemCalls.find().counter();
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
        final Optional<SystemCalls> found = SystemCalls.find().counter();
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
    /** A shell script standing in for perf's probe: {@code perf stat -h}, {@code perf version} and its counts. */
    private Path probedPerf(String usage, String counts) throws IOException {
        final Path script = dir.resolve("probed-perf");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "case \"$1 $2\" in",
                "  'stat -h') printf '%s\\n' '" + usage + "' >&2; exit 129 ;;",
                "  'version '*) echo 'perf version 5.4.0'; exit 0 ;;",
                "esac",
                "for a in \"$@\"; do [ \"$prev\" = -e ] && event=$a; prev=$a; done",
                counts,
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    @Test
    void aPerfWithoutControlIsRefusedNamingItsVersionAndTheOneExpected() throws Exception {
        final Path perf = probedPerf("    -D, --delay <n>       ms to wait before starting measurement",
                "echo \"7,,$event,1000,100.00,,\" >&2");

        final SystemCalls.Probe probe = SystemCalls.probe(perf);

        assertThat(probe.counter()).isEmpty();
        assertThat(probe.refusal())
                .isEqualTo("perf version 5.4.0 has no 'perf stat --control' (expected: perf 5.9 or later)");
    }

    @Test
    void aPerfThatMayNotCountTheTracepointsIsRefusedSayingWhatTheyNeed() throws Exception {
        final Path perf = probedPerf("        --control <fd:ctl-fd[,ack-fd] or fifo:ctl-fifo[,ack-fifo]>",
                "echo \"<not supported>,,$event,0,100.00,,\" >&2");

        final SystemCalls.Probe probe = SystemCalls.probe(perf);

        assertThat(probe.counter()).isEmpty();
        assertThat(probe.refusal()).isEqualTo("perf cannot count raw_syscalls:sys_enter"
                + " (its tracepoints need root or kernel.perf_event_paranoid=-1)");
    }

    @Test
    void aPerfWithControlThatCountsIsTakenWithTheEventsThisKernelHas() throws Exception {
        // This kernel has every system call's tracepoint but epoll_pwait2's.
        final Path perf = probedPerf("        --control <fd:ctl-fd[,ack-fd] or fifo:ctl-fifo[,ack-fifo]>",
                "[ \"$event\" = syscalls:sys_enter_epoll_pwait2 ] && { echo 'event syntax error' >&2; exit 129; }\n"
                        + "echo \"7,,$event,1000,100.00,,\" >&2");

        final SystemCalls.Probe probe = SystemCalls.probe(perf);

        assertThat(probe.refusal()).isEmpty();
        assertThat(probe.counter()).isPresent();
        assertThat(probe.counter().get().events()).containsExactly(SystemCalls.ALL,
                SystemCalls.enter("read"), SystemCalls.enter("readv"), SystemCalls.enter("recvfrom"),
                SystemCalls.enter("recvmsg"), SystemCalls.enter("write"), SystemCalls.enter("writev"),
                SystemCalls.enter("sendto"), SystemCalls.enter("sendmsg"), SystemCalls.enter("epoll_wait"),
                SystemCalls.enter("epoll_pwait"));
    }

    /**
     * A shell script standing in for perf: finds the FIFOs in its {@code --control} argument, then
     * runs {@code body}.
     */
    private Path fakePerf(String body) throws IOException {
        final Path script = dir.resolve("fake-perf");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "echo $$ > " + dir.resolve("fake-perf.pid"),
                "for a in \"$@\"; do",
                "  if [ \"$prev\" = --control ]; then fifos=${a#fifo:}; ctl=${fifos%,*}; ack=${fifos#*,}; fi",
                "  prev=$a",
                "done",
                "exec 3<\"$ctl\" 4>\"$ack\"",
                body,
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private SystemCalls.Counting startFake(String body, Duration answerTimeout) throws IOException {
        return new SystemCalls(fakePerf(body), List.of(SystemCalls.ALL), answerTimeout)
                .start(List.of(ProcessHandle.current().pid()), dir.resolve("perf.log"));
    }

    @Test
    void theCountsAreReadOncePerfHasAcknowledgedEnableAndDisableAndEndedWithItsInput() throws Exception {
        // perf's side of the conversation: each command acknowledged with "ack\n" and a NUL; the
        // counts written when the command it waits for (cat) has read the end of its input.
        final SystemCalls.Counting counting = startFake(String.join("\n",
                "read cmd <&3; [ \"$cmd\" = enable ] || exit 3",
                "printf 'ack\\n\\000' >&4",
                "read cmd <&3; [ \"$cmd\" = disable ] || exit 4",
                "printf 'ack\\n\\000' >&4",
                "cat > /dev/null",
                "echo '4200,,raw_syscalls:sys_enter,1000,100.00,,' >&2"), Duration.ofSeconds(10));

        counting.enable();
        final Map<String, Long> counts = counting.finish();

        assertThat(counts).containsExactly(Map.entry(SystemCalls.ALL, 4200L));
        assertThat(dir.resolve("perf.control")).doesNotExist();
        assertThat(dir.resolve("perf.ack")).doesNotExist();
    }

    @Test
    void aPerfThatNeverAnswersIsEndedAfterTheAnswerTimeoutAndSaidSo() throws Exception {
        final SystemCalls.Counting counting = startFake("echo 'attaching' >&2; exec sleep 60", Duration.ofSeconds(1));
        try {
            assertThatThrownBy(counting::enable)
                    .isInstanceOf(IOException.class)
                    .hasMessage("perf stat did not acknowledge 'enable' within 1000 ms: attaching");
            final long pid = Long.parseLong(Files.readString(dir.resolve("fake-perf.pid")).strip());
            final Optional<ProcessHandle> fake = ProcessHandle.of(pid);
            if (fake.isPresent()) {
                fake.get().onExit().get(10, TimeUnit.SECONDS);
            }
        } finally {
            counting.abandon();
        }
    }

    @Test
    void anAnswerOtherThanAnAcknowledgementIsSaidAsPerfGaveIt() throws Exception {
        final SystemCalls.Counting counting = startFake("read cmd <&3; echo 'unknown command' >&2; "
                + "printf 'nack\\n' >&4; exec sleep 60", Duration.ofSeconds(10));
        try {
            assertThatThrownBy(counting::enable)
                    .isInstanceOf(IOException.class)
                    .hasMessage("perf stat did not acknowledge 'enable' (it answered 'nack'): unknown command");
        } finally {
            counting.abandon();
        }
    }
}
