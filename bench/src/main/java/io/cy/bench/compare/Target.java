package io.cy.bench.compare;

import io.cy.bench.load.HttpTarget;
import io.cy.coordinator.transport.netty.Endpoint;

/**
 * One column: where the load goes, and the process whose CPU time is the proxy's cost (none when
 * direct). With {@code http}, the load goes there as streamed chat completions instead of to
 * {@code endpoint} over gRPC. With {@code jitWarmUp}, the proxy is a JVM whose warm-ups go on
 * until its JIT compilers have settled ({@link JitWarmUp}); nginx compiles nothing, and direct
 * has no proxy to read.
 */
record Target(String name, Endpoint endpoint, ChildProcess proxy, HttpTarget http, boolean jitWarmUp) {

    /** The sidecar itself, with nothing in between. */
    static Target direct(String name, Endpoint endpoint) {
        return new Target(name, endpoint, null, null, false);
    }

    /** A proxy that compiles nothing at run time, nginx. */
    static Target nativeProxy(String name, Endpoint endpoint, ChildProcess proxy) {
        return new Target(name, endpoint, proxy, null, false);
    }

    /** A coordinator: a JVM. */
    static Target jvm(String name, Endpoint endpoint, ChildProcess proxy) {
        return new Target(name, endpoint, proxy, null, true);
    }

    /** The same proxy under {@code name}, its load sent to {@code http} instead. */
    Target overHttp(String name, HttpTarget http) {
        return new Target(name, endpoint, proxy, http, jitWarmUp);
    }

    /** Where its load goes, for messages. */
    String where() {
        return http != null ? http.toString() : endpoint.toString();
    }
}
