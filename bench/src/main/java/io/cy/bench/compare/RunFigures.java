package io.cy.bench.compare;

import io.cy.bench.load.LoadResult;

/**
 * One measured run against one target: what the load generator saw, and the CPU time each
 * process spent over the run (nanoseconds; -1 where not measured, e.g. no proxy when direct).
 * {@code proxyJitCpuNanos} is the part of the proxy's time spent in JIT compiler threads (0 for
 * nginx), {@code proxyKernelCpuNanos} the part spent in the kernel (system calls, and the network
 * stack's work done in them); {@code databaseCpuNanos} that of the audit database's server when it
 * runs on this machine ({@link DatabaseCpu}).
 */
record RunFigures(LoadResult result, long proxyCpuNanos, long proxyJitCpuNanos, long proxyKernelCpuNanos,
        long simCpuNanos, long databaseCpuNanos, long clientCpuNanos) {

    /** Microseconds of proxy CPU per call started; NaN when not measured. */
    double proxyCpuPerCallMicros() {
        return perCallMicros(proxyCpuNanos);
    }

    double proxyJitCpuPerCallMicros() {
        return perCallMicros(proxyJitCpuNanos);
    }

    double proxyKernelCpuPerCallMicros() {
        return perCallMicros(proxyKernelCpuNanos);
    }

    double simCpuPerCallMicros() {
        return perCallMicros(simCpuNanos);
    }

    double databaseCpuPerCallMicros() {
        return perCallMicros(databaseCpuNanos);
    }

    double clientCpuPerCallMicros() {
        return perCallMicros(clientCpuNanos);
    }

    private double perCallMicros(long nanos) {
        if (nanos < 0 || result.started() == 0) {
            return Double.NaN;
        }
        return nanos / 1e3 / result.started();
    }
}
