package io.cy.bench.compare;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * One h2load run against one target: h2load's report, the CPU time each process spent over it
 * (nanoseconds; -1 where not measured; the audit database's as in {@link RunFigures}), and the
 * gRPC statuses the calls ended with, counted on the target's side because h2load does not read
 * them.
 *
 * @param statuses status name to count over the run (e.g. OK, CANCELLED), as the coordinator's
 *     {@code llmproxy_requests_total} or the sim's Health counters give them; null when they
 *     could not be read
 */
record H2LoadRun(H2LoadResult h2load, long proxyCpuNanos, long proxyJitCpuNanos, long proxyKernelCpuNanos,
        long simCpuNanos, long databaseCpuNanos, Map<String, Long> statuses) {

    static final String OK = "OK";
    static final String CANCELLED = "CANCELLED";

    H2LoadRun {
        statuses = statuses == null ? null : Map.copyOf(statuses);
    }

    /**
     * Calls that did not end well: h2load's own failures, and every status other than OK that
     * the target counted, except the cancellations of the calls h2load cut off when its time was
     * up (started, never done). -1 when the statuses could not be counted.
     */
    long errors() {
        if (statuses == null) {
            return -1;
        }
        long notOk = 0;
        for (Map.Entry<String, Long> e : statuses.entrySet()) {
            if (!OK.equals(e.getKey())) {
                notOk += e.getValue();
            }
        }
        final long cutOff = Math.max(0, h2load.started() - h2load.done());
        notOk -= Math.min(cutOff, statuses.getOrDefault(CANCELLED, 0L));
        return h2load.h2loadErrors() + notOk;
    }

    /** E.g. "OK 52000, CANCELLED 64"; "not counted" without statuses. */
    String describeStatuses() {
        if (statuses == null) {
            return "not counted";
        }
        return new TreeMap<>(statuses).entrySet().stream().filter(e -> e.getValue() != 0)
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }

    double proxyCpuPerCallMicros() {
        return perCall(proxyCpuNanos);
    }

    double proxyJitCpuPerCallMicros() {
        return perCall(proxyJitCpuNanos);
    }

    double proxyKernelCpuPerCallMicros() {
        return perCall(proxyKernelCpuNanos);
    }

    double simCpuPerCallMicros() {
        return perCall(simCpuNanos);
    }

    double databaseCpuPerCallMicros() {
        return perCall(databaseCpuNanos);
    }

    private double perCall(long nanos) {
        return nanos < 0 || h2load.done() == 0 ? Double.NaN : nanos / 1e3 / h2load.done();
    }

    /** The difference of two counts per status: what happened between two readings. */
    static Map<String, Long> difference(Map<String, Long> before, Map<String, Long> after) {
        if (before == null || after == null) {
            return null;
        }
        final Map<String, Long> out = new TreeMap<>();
        after.forEach((code, n) -> out.put(code, n - before.getOrDefault(code, 0L)));
        return out;
    }
}
