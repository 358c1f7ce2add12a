package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one load run measured. Latencies are histograms of nanoseconds: time to first chunk
 * from the call's start (in an open loop its scheduled start, so a target that falls behind is
 * charged for the wait), the gaps between consecutive data chunks, and the whole call until
 * its status arrived (successful calls only).
 *
 * @param started calls started
 * @param succeeded calls that ended OK with a well-formed stream
 * @param errors failed calls by status code name, {@code bad_stream} (ended OK but broke the
 *     stream rules) and {@code unfinished} (still open after the drain timeout)
 * @param chunks data chunks received, in all calls
 * @param elapsedNanos from the first start to the last end
 * @param lateStarts open loop: calls started more than 1 ms after they were due, because no
 *     outstanding slot was free or the generator itself fell behind; their latencies still
 *     count from when they were due
 * @param firstError the status and description of the first failed call, or null
 */
public record LoadResult(
        long started,
        long succeeded,
        SortedMap<String, Long> errors,
        long chunks,
        long elapsedNanos,
        Histogram ttfc,
        Histogram gaps,
        Histogram callTimes,
        long lateStarts,
        String firstError) {

    public LoadResult {
        errors = new TreeMap<>(requireNonNull(errors, "errors"));
        requireNonNull(ttfc, "ttfc");
        requireNonNull(gaps, "gaps");
        requireNonNull(callTimes, "callTimes");
    }

    public long errorCount() {
        long n = 0;
        for (long count : errors.values()) {
            n += count;
        }
        return n;
    }

    public double elapsedSeconds() {
        return elapsedNanos / 1e9;
    }

    /** Successful calls per second. */
    public double callsPerSecond() {
        return elapsedNanos == 0 ? 0 : succeeded / elapsedSeconds();
    }

    public double chunksPerSecond() {
        return elapsedNanos == 0 ? 0 : chunks / elapsedSeconds();
    }

    public LatencySummary ttfcSummary() {
        return LatencySummary.of(ttfc);
    }

    public LatencySummary gapSummary() {
        return LatencySummary.of(gaps);
    }

    public LatencySummary callSummary() {
        return LatencySummary.of(callTimes);
    }

    /** The report for people: a few aligned lines. */
    public String toText() {
        final LatencySummary t = ttfcSummary();
        final LatencySummary g = gapSummary();
        final LatencySummary c = callSummary();
        final StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "calls     %d ok of %d started in %.2f s: %.1f calls/s, %.0f chunks/s%n",
                succeeded, started, elapsedSeconds(), callsPerSecond(), chunksPerSecond()));
        out.append(String.format(Locale.ROOT, "ttfc      p50 %s  p90 %s  p99 %s  max %s ms%n",
                ms(t.p50()), ms(t.p90()), ms(t.p99()), ms(t.max())));
        out.append(String.format(Locale.ROOT, "gap       p50 %s  p99 %s us%n", us(g.p50()), us(g.p99())));
        out.append(String.format(Locale.ROOT, "call      p50 %s  p99 %s ms%n", ms(c.p50()), ms(c.p99())));
        if (lateStarts > 0) {
            out.append("late      ").append(lateStarts)
                    .append(" calls started over 1 ms after they were due (timed from when they were due)\n");
        }
        out.append("errors    ");
        if (errors.isEmpty()) {
            out.append("none\n");
        } else {
            final StringBuilder list = new StringBuilder();
            errors.forEach((status, count) -> list.append(list.length() == 0 ? "" : " ").append(status).append('=').append(count));
            out.append(list).append('\n');
            if (firstError != null) {
                out.append("first     ").append(firstError).append('\n');
            }
        }
        return out.toString();
    }

    /** One JSON object for scripts; times in microseconds. */
    public String toJson() {
        final StringBuilder json = new StringBuilder(512).append('{');
        field(json, "started", started);
        field(json, "succeeded", succeeded);
        field(json, "error_count", errorCount());
        json.append("\"errors\":{");
        boolean first = true;
        for (Map.Entry<String, Long> e : errors.entrySet()) {
            json.append(first ? "" : ",").append('"').append(e.getKey()).append("\":").append(e.getValue());
            first = false;
        }
        json.append("},");
        field(json, "chunks", chunks);
        json.append(String.format(Locale.ROOT, "\"elapsed_s\":%.3f,\"calls_per_s\":%.1f,\"chunks_per_s\":%.1f,",
                elapsedSeconds(), callsPerSecond(), chunksPerSecond()));
        summary(json, "ttfc_us", ttfcSummary());
        summary(json, "gap_us", gapSummary());
        summary(json, "call_us", callSummary());
        field(json, "late_starts", lateStarts);
        json.append("\"first_error\":").append(firstError == null ? "null" : quote(firstError));
        return json.append('}').toString();
    }

    private static void field(StringBuilder json, String name, long value) {
        json.append('"').append(name).append("\":").append(value).append(',');
    }

    private static void summary(StringBuilder json, String name, LatencySummary s) {
        json.append(String.format(Locale.ROOT, "\"%s\":{\"count\":%d,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},",
                name, s.count(), s.p50() / 1e3, s.p90() / 1e3, s.p99() / 1e3, s.max() / 1e3));
    }

    private static String quote(String s) {
        final StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    static String us(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e3);
    }
}
