package io.cy.bench.compare;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** A process the comparison started (the sim, a coordinator, nginx): output to a log file, CPU time, stop. */
final class ChildProcess {

    private final String name;
    private final Process process;
    private final Path log;

    private ChildProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts a command in {@code dir} (so relative paths it writes, such as a spool, stay in the
     * comparison's working directory) with stdout and stderr going to {@code log}.
     *
     * @param env entries to set; a null value removes the variable
     */
    static ChildProcess start(String name, List<String> command, Map<String, String> env, Path dir, Path log)
            throws IOException {
        requireNonNull(name, "name");
        final ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        env.forEach((key, value) -> {
            if (value == null) {
                builder.environment().remove(key);
            } else {
                builder.environment().put(key, value);
            }
        });
        try {
            return new ChildProcess(name, builder.start(), log);
        } catch (IOException e) {
            throw new IOException("cannot start the " + name + " (" + command.get(0) + "): " + e.getMessage(), e);
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    /** The process and its descendants (nginx's workers), by pid. */
    List<Long> pids() {
        return tree().stream().map(ProcessHandle::pid).toList();
    }

    /** The process and its descendants, as they are now. */
    private List<ProcessHandle> tree() {
        return Stream.concat(Stream.of(process.toHandle()), process.toHandle().descendants()).toList();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    ProcessHandle handle() {
        return process.toHandle();
    }

    /**
     * CPU time (user + system) the process and its children have used so far, in nanoseconds;
     * -1 where the platform does not report it. For nginx this adds the workers to the master.
     */
    long cpuNanos() {
        long total = 0;
        for (ProcessHandle handle : tree()) {
            final Duration cpu = handle.info().totalCpuDuration().orElse(null);
            if (cpu == null) {
                if (handle.isAlive()) {
                    return -1;
                }
                continue;
            }
            total += cpu.toNanos();
        }
        return total;
    }

    /**
     * The part of {@link #cpuNanos()} spent in the kernel, from each process's {@code /proc/<pid>/stat}
     * (system calls, and what the network stack does in them: on loopback a write carries its
     * segment to the receiving socket); -1 off Linux.
     */
    long kernelCpuNanos() {
        if (!Files.isReadable(Path.of("/proc/self/stat"))) {
            return -1;
        }
        long total = 0;
        try {
            for (ProcessHandle handle : tree()) {
                final ProcStat stat = ProcStat.read(Path.of("/proc", Long.toString(handle.pid()), "stat"));
                // Null: gone since the tree was listed, as cpuNanos() leaves it out.
                if (stat != null) {
                    total += stat.field(ProcStat.STIME) * ProcStat.NANOS_PER_TICK;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return total;
    }

    /** CPU time of the process's JIT compiler threads so far, in nanoseconds (0 for nginx); -1 off Linux. */
    long jitCpuNanos() {
        return CompilerThreads.cpuNanos(process.pid());
    }

    /** SIGTERM, then SIGKILL if it has not exited within {@code grace}; idempotent. */
    void stop(Duration grace) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** The last lines of its output, for an error message. */
    String tail(int lines) {
        try {
            final List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    /** Why it is not running, with the end of its output. */
    String describeExit() {
        final String status = process.isAlive() ? "still running" : "exited with status " + process.exitValue();
        return "the " + name + " " + status + "; last lines of its output (" + log + "):\n" + indent(tail(20));
    }

    private static String indent(String text) {
        return text.isEmpty() ? "    (none)" : "    " + text.replace("\n", "\n    ");
    }
}
