package io.cy.bench.compare;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;

/**
 * The CPU time of the PostgreSQL server the audited coordinator writes to, when that server runs
 * on this machine: the sum over every process whose executable is {@code postgres} (the
 * postmaster, its background workers and the backends of open connections). With the database
 * on the same cores as the processes compared, its work for each audited call takes CPU from
 * them, and this is how much; elsewhere it is not measured.
 *
 * <p>Every local PostgreSQL counts, whichever database it serves, so the figure is what the
 * machine's PostgreSQL did over a run: its background work is in it too, and the runs of targets
 * that write nothing show how much. That includes processes that ended during the run (autovacuum
 * workers, backends of closed connections): once the postmaster has reaped them, their CPU is in
 * its children's times ({@code cutime} and {@code cstime} in {@code /proc/<pid>/stat}), which are
 * added. A process that ended but is not reaped yet is missed until it is.
 */
final class DatabaseCpu {

    private static final Set<String> LOCAL_HOSTS = Set.of("", "localhost", "127.0.0.1", "[::1]", "::1");
    private static final String EXECUTABLE = "postgres";

    private final boolean measured;
    private final String executable;

    /** @param executable the file name of the server's executable */
    DatabaseCpu(boolean measured, String executable) {
        this.measured = measured;
        this.executable = executable;
    }

    /**
     * For the coordinator's {@code DB_URL} (e.g. {@code postgresql://postgres@127.0.0.1:5432/cy_bench},
     * with or without {@code jdbc:}): measured when its host is this machine or a Unix socket, not
     * measured for another host or no database.
     */
    static DatabaseCpu forUrl(String dbUrl) {
        return new DatabaseCpu(dbUrl != null && isLocal(dbUrl), EXECUTABLE);
    }

    static boolean isLocal(String dbUrl) {
        final String url = dbUrl.startsWith("jdbc:") ? dbUrl.substring("jdbc:".length()) : dbUrl;
        try {
            final URI uri = new URI(url);
            if (uri.getRawAuthority() == null) {
                // postgresql:///db: the driver's default host, this machine.
                return uri.getScheme() != null;
            }
            final String host = uri.getHost() == null ? hostOf(uri.getRawAuthority()) : uri.getHost();
            return LOCAL_HOSTS.contains(host.toLowerCase(Locale.ROOT));
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** The host of an authority {@link URI} does not parse as a server's (a host name with an underscore, say). */
    private static String hostOf(String authority) {
        final String hostPort = authority.substring(authority.lastIndexOf('@') + 1);
        final int colon = hostPort.lastIndexOf(':');
        return colon < 0 ? hostPort : hostPort.substring(0, colon);
    }

    boolean measured() {
        return measured;
    }

    /** The server's processes' CPU time so far, in nanoseconds; -1 when not measured. */
    long cpuNanos() {
        if (!measured) {
            return -1;
        }
        return ProcessHandle.allProcesses()
                .filter(this::isServer)
                .mapToLong(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L)
                        + reapedChildrenCpuNanos(p.pid()))
                .sum();
    }

    /**
     * The CPU time of the children {@code pid} has reaped (and of theirs), from {@code
     * /proc/<pid>/stat}; 0 where there is no such file (not Linux, or the process is gone).
     */
    static long reapedChildrenCpuNanos(long pid) {
        try {
            final ProcStat stat = ProcStat.read(Path.of("/proc", Long.toString(pid), "stat"));
            return stat == null ? 0 : stat.reapedChildrenCpuNanos();
        } catch (IOException e) {
            return 0;
        }
    }

    private boolean isServer(ProcessHandle p) {
        return p.info().command()
                .map(c -> Path.of(c).getFileName())
                .map(name -> name != null && name.toString().equals(executable))
                .orElse(false);
    }
}
