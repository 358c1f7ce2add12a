package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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

    SystemCalls(Path perf, List<String> events) {
        this.perf = requireNonNull(perf, "perf");
        this.events = List.copyOf(events);
    }

    /** {@code perf} from the PATH or /usr/bin, if it may count this machine's system calls. */
    static Optional<SystemCalls> find() {
        return Executables.find("perf", List.of("/usr/bin", "/usr/local/bin", "/usr/sbin")).flatMap(SystemCalls::probe);
    }

    private static Optional<SystemCalls> probe(Path perf) {
        if (!counts(perf, ALL)) {
            return Optional.empty();
        }
        final List<String> events = new ArrayList<>(List.of(ALL));
        for (List<String> group : List.of(READS, WRITES, WAITS)) {
            for (String call : group) {
                if (counts(perf, enter(call))) {
                    events.add(enter(call));
                }
            }
        }
        return Optional.of(new SystemCalls(perf, events));
    }

    /**
     * Whether {@code perf stat -e event -- true} takes a count of {@code event}: it refuses an
     * event this kernel lacks, and reports one it may not count as not counted.
     */
    private static boolean counts(Path perf, String event) {
        try {
            // Its few lines fit in the pipe: read after the wait, so a perf that hangs cannot hold the bench.
            final Process process = new ProcessBuilder(perf.toString(), "stat", "-x,", "-e", event, "--", "true")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!process.waitFor(PROBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return false;
            }
            final String text = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return process.exitValue() == 0 && parse(text).getOrDefault(event, -1L) >= 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static String enter(String call) {
        return "syscalls:sys_enter_" + call;
    }

    /**
     * Starts counting the system calls of the processes {@code pids} (every thread of each) for
     * {@code length}; the counts are read with {@link Counting#await()}.
     */
    Counting start(List<Long> pids, Duration length, Path log) throws IOException {
        if (pids.isEmpty()) {
            throw new IllegalArgumentException("pids: none (expected: at least one process)");
        }
        final List<String> command = List.of(perf.toString(), "stat", "-x,", "-e", String.join(",", events),
                "-p", pids.stream().map(String::valueOf).collect(Collectors.joining(",")),
                "--", "sleep", String.format(Locale.ROOT, "%.3f", length.toMillis() / 1000.0));
        final Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(log.toFile()).start();
        return new Counting(process, log, length);
    }

    /** One count in progress: perf's process, where it writes its counts, and how long it counts. */
    record Counting(Process process, Path log, Duration length) {

        /** Waits for the count's end; the count of each event, or an exception saying why there is none. */
        Map<String, Long> await() throws IOException, InterruptedException {
            if (!process.waitFor(length.plus(PROBE_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException("perf stat did not end within " + length.plus(PROBE_TIMEOUT).toSeconds() + " s");
            }
            final String text = Files.readString(log, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException("perf stat exited with " + process.exitValue() + ": " + text.strip());
            }
            return parse(text);
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
