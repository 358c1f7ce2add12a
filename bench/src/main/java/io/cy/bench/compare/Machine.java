package io.cy.bench.compare;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the figures were measured on, for the report: cores, CPU, memory, OS, clock source, what a
 * system call costs, and JDK. The CPU is named with its family and model numbers as well as its
 * name, because a VM's CPU is often named only "Intel(R) Xeon(R) Processor" or "AMD EPYC", and VMs
 * of one name differ (Milan, Genoa and Turin are all "AMD EPYC"); the clock source, because it
 * decides what a clock read costs. A system call's cost, and whether the kernel isolates its page
 * tables from user space (Meltdown's mitigation, which some VMs' kernels turn on whatever the CPU),
 * because it moves nginx's CPU per call more than the coordinator's: nginx writes each stream's
 * frames with a system call of their own, the coordinator all that a turn produced with one. And
 * what a write over loopback TCP and its read cost, which is most of what those system calls do:
 * the network stack's work in them differs between VMs by more than entering the kernel does, as
 * do the mitigations that slow every indirect call and return in the kernel (retpolines, AMD's
 * safe RET), named with it.
 */
final class Machine {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Path CLOCK_SOURCE = Path.of("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    private static final Path VULNERABILITIES = Path.of("/sys/devices/system/cpu/vulnerabilities");
    private static final Path MELTDOWN = VULNERABILITIES.resolve("meltdown");
    /** The mitigations that slow the kernel's own code: its indirect calls and its returns. */
    private static final List<String> KERNEL_CODE_MITIGATIONS =
            List.of("spectre_v2", "retbleed", "spec_rstack_overflow");
    private static final Path DEV_NULL = Path.of("/dev/null");
    private static final int SYSTEM_CALLS_PER_ROUND = 100_000;
    private static final int SYSTEM_CALL_ROUNDS = 5;
    private static final int LOOPBACK_PAIRS_PER_ROUND = 20_000;
    /** About one relayed frame: a token's DATA frame and its gRPC prefix. */
    private static final int LOOPBACK_BYTES = 64;

    private Machine() {}

    static String describe() {
        final StringBuilder out = new StringBuilder();
        out.append(Runtime.getRuntime().availableProcessors()).append(" cores");
        final String cpu = cpu(lines(CPUINFO));
        if (cpu != null) {
            out.append(", ").append(cpu);
        }
        final String memTotal = procField(lines(Path.of("/proc/meminfo")), "MemTotal");
        if (memTotal != null) {
            try {
                final long kb = Long.parseLong(memTotal.replace("kB", "").trim());
                out.append(String.format(Locale.ROOT, ", %.1f GiB memory", kb / (1024.0 * 1024)));
            } catch (NumberFormatException e) {
                // Leave it out.
            }
        }
        out.append(", ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"));
        final String clock = clockSource(CLOCK_SOURCE);
        if (clock != null) {
            out.append(", clock source ").append(clock);
        }
        final Boolean isolation = pageTableIsolation(MELTDOWN);
        if (isolation != null) {
            out.append(", kernel page-table isolation ").append(isolation ? "on" : "off");
        }
        final double systemCall = systemCallMicros(DEV_NULL);
        if (systemCall > 0) {
            out.append(String.format(Locale.ROOT, ", a system call (lseek) %.2f us", systemCall));
        }
        final String mitigations = kernelCodeMitigations(VULNERABILITIES);
        if (!mitigations.isEmpty()) {
            out.append(", kernel code mitigations ").append(mitigations);
        }
        final double loopback = loopbackMicros();
        if (loopback > 0) {
            out.append(String.format(Locale.ROOT, ", a loopback TCP write and its read (%d bytes) %.2f us",
                    LOOPBACK_BYTES, loopback));
        }
        out.append(", ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version"));
        return out.toString();
    }

    /**
     * The first processor's name with its family and model, e.g. "AMD EPYC (family 26, model 2)";
     * the name alone when the numbers are absent, null when the name is.
     */
    static String cpu(List<String> cpuinfo) {
        final String name = procField(cpuinfo, "model name");
        if (name == null) {
            return null;
        }
        final String family = procField(cpuinfo, "cpu family");
        final String model = procField(cpuinfo, "model");
        if (family == null || model == null) {
            return name;
        }
        return name + " (family " + family + ", model " + model + ")";
    }

    /** The kernel's clock source (tsc, kvm-clock, ...); null if it cannot be read. */
    static String clockSource(Path file) {
        final List<String> lines = lines(file);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            return null;
        }
        return lines.get(0).trim();
    }

    /**
     * Whether the kernel isolates its page tables from user space (PTI), from its Meltdown file
     * ("Mitigation: PTI"); null if that cannot be read.
     */
    static Boolean pageTableIsolation(Path meltdownFile) {
        final List<String> lines = lines(meltdownFile);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            return null;
        }
        return lines.get(0).contains("PTI");
    }

    /**
     * What the kernel does against the speculation attacks whose mitigations slow its own code,
     * from the files of {@code dir}: each named with its file's first clause, e.g.
     * "spectre_v2 (Retpolines), spec_rstack_overflow (Vulnerable: Safe RET, no microcode)"; those
     * the CPU is not affected by, or whose files are absent, left out.
     */
    static String kernelCodeMitigations(Path dir) {
        final List<String> named = new ArrayList<>();
        for (String name : KERNEL_CODE_MITIGATIONS) {
            final List<String> lines = lines(dir.resolve(name));
            if (lines.isEmpty() || lines.get(0).isBlank() || lines.get(0).startsWith("Not affected")) {
                continue;
            }
            // "Mitigation: Retpolines; STIBP: disabled; ...": the first clause says what is done.
            String first = lines.get(0).split(";", 2)[0].trim();
            if (first.startsWith("Mitigation: ")) {
                first = first.substring("Mitigation: ".length());
            }
            named.add(name + " (" + first + ")");
        }
        return String.join(", ", named);
    }

    /**
     * Microseconds per {@code lseek} on {@code file}, the least of a few rounds after one to warm
     * up: the cost of entering and leaving the kernel on this machine, with the JDK's native call
     * around it (tens of nanoseconds). The least, because what a busy machine adds is not the
     * call's. 0 if the file cannot be opened.
     */
    static double systemCallMicros(Path file) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            return leastMicros(SYSTEM_CALLS_PER_ROUND, times -> {
                for (int i = 0; i < times; i++) {
                    f.getFilePointer();
                }
            });
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * Microseconds per write of {@value #LOOPBACK_BYTES} bytes on a loopback TCP connection and
     * the read of them at its other end, both on this thread: the kernel's TCP send and receive
     * paths, without a wake-up of another thread. The least of a few rounds after one to warm up,
     * as for {@link #systemCallMicros}. 0 if the connection cannot be made or fails.
     */
    static double loopbackMicros() {
        final InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(any);
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel peer = server.accept()) {
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            final ByteBuffer out = ByteBuffer.allocateDirect(LOOPBACK_BYTES);
            final ByteBuffer in = ByteBuffer.allocateDirect(LOOPBACK_BYTES);
            return leastMicros(LOOPBACK_PAIRS_PER_ROUND, times -> {
                for (int i = 0; i < times; i++) {
                    out.clear();
                    while (out.hasRemaining()) {
                        client.write(out);
                    }
                    // Loopback delivers during the write: the read finds the bytes there.
                    in.clear();
                    while (in.hasRemaining()) {
                        if (peer.read(in) < 0) {
                            throw new IOException("the loopback connection closed");
                        }
                    }
                }
            });
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * A round of timed operations, which may fail as I/O does; its loop is its own, so that what is
     * timed is the operation and not a call to it.
     */
    @FunctionalInterface
    private interface Round {
        void run(int times) throws IOException;
    }

    /**
     * Microseconds per operation of {@code round}, the least over {@value #SYSTEM_CALL_ROUNDS} rounds
     * of {@code perRound} after one round to warm up: the least, because what a busy machine adds is
     * not the operation's.
     */
    private static double leastMicros(int perRound, Round round) throws IOException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i <= SYSTEM_CALL_ROUNDS; i++) {
            final long start = System.nanoTime();
            round.run(perRound);
            final long elapsed = System.nanoTime() - start;
            if (i > 0) {
                least = Math.min(least, elapsed);
            }
        }
        return least / 1000.0 / perRound;
    }

    /** The value of the first "name : value" line; null if absent. */
    static String procField(List<String> lines, String name) {
        for (String line : lines) {
            final int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable: the report says less.
            return List.of();
        }
    }
}
