package io.cy.bench.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * One {@code /proc/<pid>/stat} or {@code /proc/<pid>/task/<tid>/stat} line of Linux, read by the
 * field numbers of proc(5). Every Linux kernel has these files, readable for one's own processes;
 * {@code schedstat} (finer, in nanoseconds) depends on the kernel's configuration and the
 * sandbox, so the bench does not rely on it.
 */
final class ProcStat {

    /** proc(5)'s fields: time in user mode, in kernel mode, and the same for reaped children. */
    static final int UTIME = 14;
    static final int STIME = 15;
    static final int CUTIME = 16;
    static final int CSTIME = 17;
    /** {@code /proc} counts in clock ticks of USER_HZ, 100 per second on Linux's architectures. */
    static final long NANOS_PER_TICK = 10_000_000L;

    private final String comm;
    /** Fields 3 onwards; the command name before them, in parentheses, may hold spaces. */
    private final String[] rest;

    private ProcStat(String comm, String[] rest) {
        this.comm = comm;
        this.rest = rest;
    }

    /** The file's line; null when it is not there (the process or thread has gone). */
    static ProcStat read(Path stat) throws IOException {
        final String line;
        try {
            line = Files.readString(stat, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        }
        return parse(line);
    }

    /** @throws IOException when the line is not a stat line */
    static ProcStat parse(String line) throws IOException {
        final int open = line.indexOf('(');
        final int close = line.lastIndexOf(')');
        if (open < 0 || close < open || close + 2 > line.length()) {
            throw new IOException("not a /proc stat line: " + abbreviate(line));
        }
        return new ProcStat(line.substring(open + 1, close), line.substring(close + 2).trim().split(" "));
    }

    /** The command name: a thread's name cut to 15 characters, for a task. */
    String comm() {
        return comm;
    }

    /** @throws IOException when the line has no such field or it is not a number */
    long field(int number) throws IOException {
        final int index = number - 3;
        if (index < 0 || index >= rest.length) {
            throw new IOException("no field " + number + " in a /proc stat line of " + (rest.length + 2) + " fields");
        }
        try {
            return Long.parseLong(rest[index]);
        } catch (NumberFormatException e) {
            throw new IOException("field " + number + " of a /proc stat line is not a number: " + abbreviate(rest[index]));
        }
    }

    /** User and kernel time, in nanoseconds (at the resolution of a clock tick). */
    long cpuNanos() throws IOException {
        return (field(UTIME) + field(STIME)) * NANOS_PER_TICK;
    }

    /** The same for the children the process has reaped (and theirs). */
    long reapedChildrenCpuNanos() throws IOException {
        return (field(CUTIME) + field(CSTIME)) * NANOS_PER_TICK;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 60) + "…";
    }
}
