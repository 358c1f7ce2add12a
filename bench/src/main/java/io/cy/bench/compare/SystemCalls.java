package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * The system calls a proxy makes, counted by the kernel's tracepoints through {@code perf stat}
 * (Debian's {@code linux-perf}; tracepoints need root or {@code kernel.perf_event_paranoid} at
 * most -1 or a capability). Counts, not times: one call at a time they do not depend on the
 * machine's speed, which on a shared VM moves by more than the differences there. A tracepoint
 * slows a process less than {@code strace} does, but on a VM whose system calls already cost a µs
 * it slowed nginx four- to fivefold at 64 in flight; under load that would change how many calls a
 * wake-up serves, so only one call at a time is counted. What the counts show is how many times a
 * proxy reads, writes and waits for a call: the wake-ups its event loop takes and the writes it
 * gathers.
 */
final class SystemCalls {

    /** Every system call entered. */
    static final String ALL = "raw_syscalls:sys_enter";
    static final List<String> READS = List.of("read", "readv", "recvfrom", "recvmsg");
    static final List<String> WRITES = List.of("write", "writev", "sendto", "sendmsg");
    static final List<String> WAITS = List.of("epoll_wait", "epoll_pwait", "epoll_pwait2");
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

    private final Path perf;
    /** The events this kernel has (each probed: {@code perf stat} refuses a list with one it lacks). */
    private final List<String> events;
    private final Duration answerTimeout;

    SystemCalls(Path perf, List<String> events) {
        this(perf, events, PROBE_TIMEOUT);
    }

    /** @param answerTimeout how long perf may take to acknowledge a command, or to end once told to */
    SystemCalls(Path perf, List<String> events, Duration answerTimeout) {
        this.perf = requireNonNull(perf, "perf");
        this.events = List.copyOf(events);
        this.answerTimeout = requireNonNull(answerTimeout, "answerTimeout");
    }

    /** The events counted: every system call's, and of each read, write and wait this kernel has a tracepoint for. */
    List<String> events() {
        return events;
    }

    /**
     * What the probe of this machine's perf found: a counter, or why there is none (said in the
     * bench's output, so that a missing line in the report has its reason beside it).
     */
    record Probe(Optional<SystemCalls> counter, String refusal) {}

    /** {@code perf} from the PATH or /usr/bin, if it may count this machine's system calls. */
    static Probe find() {
        return Executables.find("perf", List.of("/usr/bin", "/usr/local/bin", "/usr/sbin"))
                .map(SystemCalls::probe)
                .orElseGet(() -> refused("perf not found (apt-get install linux-perf)"));
    }

    static Probe probe(Path perf) {
        // Without --control (perf 5.9 and later) perf can only count from when it starts, with a
        // time allowed for it to attach: the counts would not be of the run alone.
        final Ran usage = run(perf, List.of("stat", "-h"));
        if (usage == null || !usage.text().contains("--control")) {
            final Ran version = run(perf, List.of("version"));
            return refused((version == null || version.text().isBlank() ? perf.toString() : version.text().strip())
                    + " has no 'perf stat --control' (expected: perf 5.9 or later)");
        }
        if (!counts(perf, ALL)) {
            return refused("perf cannot count " + ALL + " (its tracepoints need root or"
                    + " kernel.perf_event_paranoid=-1)");
        }
        final List<String> events = new ArrayList<>(List.of(ALL));
        for (List<String> group : List.of(READS, WRITES, WAITS)) {
            for (String call : group) {
                if (counts(perf, enter(call))) {
                    events.add(enter(call));
                }
            }
        }
        return new Probe(Optional.of(new SystemCalls(perf, events)), "");
    }

    private static Probe refused(String why) {
        return new Probe(Optional.empty(), why);
    }

    /**
     * What {@code perf args} wrote to its output and error together, and its exit; null if it could
     * not be run or did not end in time.
     */
    private static Ran run(Path perf, List<String> args) {
        final List<String> command = new ArrayList<>(List.of(perf.toString()));
        command.addAll(args);
        try {
            // Its few lines fit in the pipe: read after the wait, so a perf that hangs cannot hold the bench.
            final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!process.waitFor(PROBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return null;
            }
            return new Ran(process.exitValue(),
                    new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private record Ran(int exit, String text) {}

    /**
     * Whether {@code perf stat -e event -- true} takes a count of {@code event}: it refuses an
     * event this kernel lacks, and reports one it may not count as not counted.
     */
    private static boolean counts(Path perf, String event) {
        final Ran ran = run(perf, List.of("stat", "-x,", "-e", event, "--", "true"));
        return ran != null && ran.exit() == 0 && parse(ran.text()).getOrDefault(event, -1L) >= 0;
    }

    static String enter(String call) {
        return "syscalls:sys_enter_" + call;
    }

    /**
     * Attaches perf to the processes {@code pids} (every thread of each) with its counters off;
     * {@link Counting#enable()} turns them on once perf has attached, {@link Counting#finish()}
     * turns them off and reads them. perf's output goes to {@code log}; its control and
     * acknowledgement FIFOs are made beside it.
     */
    Counting start(List<Long> pids, Path log) throws IOException {
        if (pids.isEmpty()) {
            throw new IllegalArgumentException("pids: none (expected: at least one process)");
        }
        final String name = log.getFileName().toString().replaceFirst("\\.log$", "");
        final Path control = log.resolveSibling(name + ".control");
        final Path acks = log.resolveSibling(name + ".ack");
        final FileChannel controlChannel;
        final FileChannel ackChannel;
        try {
            fifo(control);
            fifo(acks);
            // perf opens the acknowledgement FIFO for writing, which waits for a reader: both are
            // opened here for reading and writing first, which neither waits nor ends at perf's exit
            // (perf's exit closes them through onExit below instead).
            controlChannel = FileChannel.open(control, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                ackChannel = FileChannel.open(acks, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (IOException e) {
                closeQuietly(controlChannel);
                throw e;
            }
        } catch (IOException e) {
            deleteQuietly(List.of(control, acks));
            throw e;
        }
        // -D -1: attached with every counter off; the counts are of what happens between enable and
        // disable. The command perf waits for is cat on perf's standard input: closing it ends perf.
        final List<String> command = List.of(perf.toString(), "stat", "-x,", "-D", "-1",
                "--control", "fifo:" + control + "," + acks, "-e", String.join(",", events),
                "-p", pids.stream().map(String::valueOf).collect(Collectors.joining(",")), "--", "cat");
        final Process process;
        try {
            process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(log.toFile()).start();
        } catch (IOException e) {
            closeQuietly(controlChannel);
            closeQuietly(ackChannel);
            deleteQuietly(List.of(control, acks));
            throw e;
        }
        final Counting counting = new Counting(process, log, controlChannel, ackChannel, List.of(control, acks),
                answerTimeout);
        // A read waiting for an acknowledgement returns when perf ends, whatever ended it.
        process.onExit().thenRun(counting::closeChannels);
        return counting;
    }

    /** Makes the FIFO {@code path} with {@code mkfifo}, replacing a file left there. */
    private static void fifo(Path path) throws IOException {
        Files.deleteIfExists(path);
        final Path mkfifo = Executables.find("mkfifo", List.of("/usr/bin", "/bin"))
                .orElseThrow(() -> new IOException("mkfifo not found (expected on the PATH, in /usr/bin or /bin)"));
        final Process process = new ProcessBuilder(mkfifo.toString(), path.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        try {
            if (!process.waitFor(PROBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("mkfifo " + path + " did not end within " + PROBE_TIMEOUT.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted making the FIFO " + path);
        }
        if (process.exitValue() != 0 || !Files.exists(path)) {
            throw new IOException("mkfifo " + path + " exited with " + process.exitValue());
        }
    }

    /** Removes the FIFOs, if made: they are in the bench's work directory, which is the run's own. */
    private static void deleteQuietly(List<Path> fifos) {
        for (Path fifo : fifos) {
            try {
                Files.deleteIfExists(fifo);
            } catch (IOException e) {
                // Left in the work directory.
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a FIFO loses nothing.
        }
    }

    /**
     * One count: perf attached with its counters off, told through its control FIFO when to count
     * and acknowledging each command on the other, so that the count starts once perf has attached
     * to every thread and ends after the run's last call, with no allowance of time for either.
     */
    static final class Counting {

        /** Longer than any answer perf gives on its acknowledgement FIFO. */
        private static final int ACK_LINE_LIMIT = 64;

        private final Process process;
        private final Path log;
        private final FileChannel control;
        private final FileChannel acks;
        private final List<Path> fifos;
        private final Duration answerTimeout;

        private Counting(Process process, Path log, FileChannel control, FileChannel acks, List<Path> fifos,
                Duration answerTimeout) {
            this.process = process;
            this.log = log;
            this.control = control;
            this.acks = acks;
            this.fifos = fifos;
            this.answerTimeout = answerTimeout;
        }

        /** Turns the counters on; returns when perf says they are. */
        void enable() throws IOException {
            command("enable");
        }

        /**
         * Turns the counters off, ends perf and reads its counts: the count of each event, or an
         * exception saying why there is none.
         */
        Map<String, Long> finish() throws IOException, InterruptedException {
            try {
                command("disable");
                // cat reads its end of input and exits; perf writes the counts and follows.
                process.getOutputStream().close();
                if (!process.waitFor(answerTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IOException("perf stat did not end within " + answerTimeout.toMillis() + " ms");
                }
                final String text = Files.readString(log, StandardCharsets.UTF_8);
                if (process.exitValue() != 0) {
                    throw new IOException("perf stat exited with " + process.exitValue() + ": " + text.strip());
                }
                return parse(text);
            } finally {
                abandon();
            }
        }

        /** Ends perf, if it runs, and removes the FIFOs. */
        void abandon() {
            process.destroyForcibly();
            closeChannels();
            deleteQuietly(fifos);
        }

        /**
         * Writes {@code name} to perf's control FIFO and waits for its acknowledgement: perf reads
         * its commands only once it has attached, so the acknowledgement of the first says it has.
         */
        private void command(String name) throws IOException {
            final AtomicBoolean acknowledged = new AtomicBoolean();
            final AtomicBoolean timedOut = new AtomicBoolean();
            // Neither an acknowledgement nor an exit: perf is ended, which ends the read below.
            CompletableFuture.delayedExecutor(answerTimeout.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
                if (!acknowledged.get()) {
                    timedOut.set(true);
                    process.destroyForcibly();
                }
            });
            final StringBuilder line = new StringBuilder();
            try {
                control.write(ByteBuffer.wrap((name + "\n").getBytes(StandardCharsets.US_ASCII)));
                final ByteBuffer one = ByteBuffer.allocate(1);
                // perf writes "ack\n" and a NUL after it: the NUL is left out, the line ends the read.
                while (line.length() < ACK_LINE_LIMIT) {
                    one.clear();
                    if (acks.read(one) < 0) {
                        break;
                    }
                    final char c = (char) one.get(0);
                    if (c == '\n') {
                        break;
                    }
                    if (c != 0) {
                        line.append(c);
                    }
                }
            } catch (ClosedChannelException e) {
                // perf ended, before or after reading the command: said below with what it wrote.
            } finally {
                acknowledged.set(true);
            }
            if (!line.toString().equals("ack")) {
                throw new IOException("perf stat did not acknowledge '" + name + "'"
                        + (timedOut.get() ? " within " + answerTimeout.toMillis() + " ms" : "")
                        + (line.length() > 0 ? " (it answered '" + line + "')" : "") + ": " + logText());
            }
        }

        private String logText() {
            try {
                final String text = Files.readString(log, StandardCharsets.UTF_8).strip();
                return text.isEmpty() ? "(it wrote nothing)" : text;
            } catch (IOException e) {
                return "(its output could not be read: " + e.getMessage() + ")";
            }
        }

        private void closeChannels() {
            closeQuietly(control);
            closeQuietly(acks);
        }
    }

    /**
     * Reads {@code perf stat -x,}'s lines: count, unit, event, …; a count perf could not take
     * ({@code <not counted>}, {@code <not supported>}) as -1. Other lines are left out.
     */
    static Map<String, Long> parse(String text) {
        final Map<String, Long> counts = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            final String[] fields = line.strip().split(",", -1);
            if (fields.length < 3 || fields[2].isEmpty()) {
                continue;
            }
            final String count = fields[0].strip();
            if (count.startsWith("<")) {
                counts.put(fields[2], -1L);
                continue;
            }
            try {
                counts.put(fields[2], Long.parseLong(count));
            } catch (NumberFormatException e) {
                // A line of another kind (a warning, a header).
            }
        }
        return counts;
    }

    /** One proxy's counts over one run of {@code calls} calls. */
    record PerCall(String target, long calls, Map<String, Long> counts) {

        PerCall {
            requireNonNull(target, "target");
            counts = Map.copyOf(counts);
        }

        double all() {
            return perCall(List.of(ALL));
        }

        double reads() {
            return perCall(READS.stream().map(SystemCalls::enter).toList());
        }

        double writes() {
            return perCall(WRITES.stream().map(SystemCalls::enter).toList());
        }

        double waits() {
            return perCall(WAITS.stream().map(SystemCalls::enter).toList());
        }

        /** The sum of {@code events}' counts per call; NaN without calls or when none of them was counted. */
        private double perCall(List<String> events) {
            long sum = 0;
            boolean any = false;
            for (String event : events) {
                final Long n = counts.get(event);
                if (n != null && n >= 0) {
                    sum += n;
                    any = true;
                }
            }
            return calls <= 0 || !any ? Double.NaN : (double) sum / calls;
        }

        /** E.g. "nginx 11.10 (reads 2.00, writes 5.00, waits 3.10; 14,862 calls)". */
        String describe() {
            return String.format(Locale.ROOT, "%s %s (reads %s, writes %s, waits %s; %,d calls)",
                    target, format(all()), format(reads()), format(writes()), format(waits()), calls);
        }

        private static String format(double x) {
            return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.2f", x);
        }
    }
}
