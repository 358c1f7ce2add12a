package io.cy.bench.compare;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one h2load run printed: its calls per second, request counts and call times. h2load
 * counts a request as succeeded on its HTTP status alone; a gRPC call's own status comes in its
 * trailers, which h2load does not read, so the statuses are counted elsewhere (see
 * {@link H2LoadRun}).
 *
 * @param callsPerSecond requests done per second of the run ("finished in ..., N req/s")
 * @param started requests started
 * @param done requests whose response ended within the run
 * @param failed requests h2load counted as failed (no 2xx, reset, connection lost)
 * @param errored requests ended by an error on h2load's side
 * @param timedOut requests that timed out
 * @param meanCallMicros mean time from a request's start to its response's end
 * @param maxCallMicros the longest such time
 * @param meanFirstByteMicros h2load's "time to 1st byte": per connection, from its start to its
 *     first byte received, not per call
 * @param cpuNanos h2load's own CPU time over the run (user + system), -1 if unknown
 */
record H2LoadResult(double callsPerSecond, long started, long done, long failed, long errored, long timedOut,
        double meanCallMicros, double maxCallMicros, double meanFirstByteMicros, long cpuNanos) {

    private static final Pattern FINISHED = Pattern.compile("finished in [0-9.]+\\w*, ([0-9.]+) req/s");
    private static final Pattern REQUESTS = Pattern.compile(
            "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored,"
                    + " (\\d+) timeout");
    private static final Pattern TIME = Pattern.compile("([0-9.]+)(us|ms|s)");
    /** What bash's {@code times} prints for its children: user and system time, e.g. "0m1.234s 0m0.567s". */
    private static final Pattern TIMES = Pattern.compile("(?m)^(\\d+)m([0-9.]+)s (\\d+)m([0-9.]+)s$");

    /** Errors of any kind h2load saw itself. */
    long h2loadErrors() {
        return failed + errored + timedOut;
    }

    /** Microseconds of h2load's CPU per call done; NaN if unknown. */
    double cpuPerCallMicros() {
        return cpuNanos < 0 || done == 0 ? Double.NaN : cpuNanos / 1e3 / done;
    }

    /**
     * Reads h2load's report. With {@code times} output appended (bash's, two lines: the shell's
     * and its children's), the children's line is h2load's CPU time.
     *
     * @throws IllegalArgumentException naming the line that is missing or unreadable
     */
    static H2LoadResult parse(String output) {
        final Matcher finished = FINISHED.matcher(output);
        if (!finished.find()) {
            throw new IllegalArgumentException("h2load output: no 'finished in ..., N req/s' line");
        }
        final Matcher requests = REQUESTS.matcher(output);
        if (!requests.find()) {
            throw new IllegalArgumentException("h2load output: no 'requests: ... total, ... timeout' line");
        }
        final String[] request = columns(output, "time for request:");
        final String[] firstByte = columns(output, "time to 1st byte:");
        long cpu = -1;
        final Matcher times = TIMES.matcher(output);
        // The last of the two lines is the children's.
        while (times.find()) {
            cpu = Math.round((Long.parseLong(times.group(1)) * 60 + Double.parseDouble(times.group(2))
                    + Long.parseLong(times.group(3)) * 60 + Double.parseDouble(times.group(4))) * 1e9);
        }
        return new H2LoadResult(Double.parseDouble(finished.group(1)), Long.parseLong(requests.group(2)),
                Long.parseLong(requests.group(3)), Long.parseLong(requests.group(5)),
                Long.parseLong(requests.group(6)), Long.parseLong(requests.group(7)),
                micros(request[2]), micros(request[1]), micros(firstByte[2]), cpu);
    }

    /** The min, max and mean of a timing line; NaN for each when the line is missing. */
    private static String[] columns(String output, String label) {
        for (String line : output.split("\n")) {
            final String trimmed = line.strip();
            if (trimmed.startsWith(label)) {
                final String[] fields = trimmed.substring(label.length()).strip().split("\\s+");
                if (fields.length >= 3) {
                    return fields;
                }
            }
        }
        return new String[] {"NaN", "NaN", "NaN"};
    }

    private static double micros(String value) {
        final Matcher m = TIME.matcher(value);
        if (!m.matches()) {
            return Double.NaN;
        }
        final double x = Double.parseDouble(m.group(1));
        switch (m.group(2)) {
            case "us":
                return x;
            case "ms":
                return x * 1e3;
            default:
                return x * 1e6;
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%.0f calls/s, %d done, %d failed, %d errored, %d timeouts, mean %.1f us",
                callsPerSecond, done, failed, errored, timedOut, meanCallMicros);
    }
}
