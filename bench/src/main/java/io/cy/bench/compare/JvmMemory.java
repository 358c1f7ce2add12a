package io.cy.bench.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The memory a running JVM holds, read from outside: heap in use after a full GC (through
 * {@code jcmd}, so garbage does not count), and the resident set size from {@code /proc}.
 */
final class JvmMemory {

    /** In {@code GC.heap_info}: " garbage-first heap   total 262144K, used 21504K [...". */
    private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total\\s+\\d+K,\\s+used\\s+(\\d+)K");
    private static final Pattern VM_RSS = Pattern.compile("^VmRSS:\\s+(\\d+)\\s+kB", Pattern.MULTILINE);
    private static final long JCMD_TIMEOUT_S = 60;

    /** Heap used after a GC and resident set size, in bytes; -1 where unknown. */
    record Reading(long heapUsedBytes, long rssBytes) {}

    private final Path jcmd;

    /** @param jcmd the JDK's jcmd; the same JDK as the JVM measured */
    JvmMemory(Path jcmd) {
        this.jcmd = jcmd;
    }

    /** The jcmd beside the running JVM, if this is a JDK. */
    static JvmMemory ofCurrentJdk() {
        return new JvmMemory(Path.of(System.getProperty("java.home"), "bin", "jcmd"));
    }

    boolean available() {
        return Files.isExecutable(jcmd);
    }

    /** Forces a full GC in the process, then reads heap used and RSS. */
    Reading measure(long pid) throws IOException, InterruptedException {
        long heap = -1;
        if (available()) {
            run(pid, "GC.run");
            heap = parseHeapUsed(run(pid, "GC.heap_info"));
        }
        return new Reading(heap, readRss(pid));
    }

    private String run(long pid, String command) throws IOException, InterruptedException {
        final Process process = new ProcessBuilder(List.of(jcmd.toString(), Long.toString(pid), command))
                .redirectErrorStream(true)
                .start();
        final byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(JCMD_TIMEOUT_S, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("jcmd " + pid + " " + command + ": no answer within " + JCMD_TIMEOUT_S + " s");
        }
        final String text = new String(output, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " exited with " + process.exitValue() + ": " + text.strip());
        }
        return text;
    }

    /** Heap used in bytes from {@code GC.heap_info} output; -1 if it has no such line. */
    static long parseHeapUsed(String heapInfo) {
        final Matcher m = HEAP_USED.matcher(heapInfo);
        return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
    }

    /** VmRSS in bytes from {@code /proc/<pid>/status}; -1 if unavailable. */
    static long readRss(long pid) {
        try {
            return parseRss(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
        } catch (IOException e) {
            return -1;
        }
    }

    static long parseRss(String status) {
        final Matcher m = VM_RSS.matcher(status);
        return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
    }
}
