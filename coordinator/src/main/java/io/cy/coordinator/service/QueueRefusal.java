package io.cy.coordinator.service;

import io.cy.coordinator.sidecar.BackendQueue;
import io.cy.coordinator.sidecar.CapacitySettings;
import io.grpc.Metadata;
import io.grpc.Status;

/** RESOURCE_EXHAUSTED for a call its backend's queue cannot take or kept too long, with when to retry. */
record QueueRefusal(Status status, Metadata trailers) {

    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> RETRY_PUSHBACK_MS =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
    /** The least pushback: a queue that just started filling has no waits to go by. */
    private static final long MIN_RETRY_AFTER_MILLIS = 100;

    /** {@code queue.max_length} calls already wait. */
    static QueueRefusal full(BackendQueue queue) {
        final CapacitySettings settings = queue.settings();
        return new QueueRefusal(Status.RESOURCE_EXHAUSTED.withDescription("queue of backend " + queue.backend() + ": "
                + queue.depth() + " calls waiting (expected: <= " + settings.maxLength() + ", queue.max_length)"),
                pushback(queue));
    }

    /** The call waited {@code queue.max_wait} for a sidecar. */
    static QueueRefusal waitedTooLong(BackendQueue queue, long waitedMillis) {
        return new QueueRefusal(Status.RESOURCE_EXHAUSTED.withDescription("waited " + waitedMillis
                + "ms in the queue of backend " + queue.backend() + " (expected: <= "
                + queue.settings().maxWait().toMillis() + "ms, queue.max_wait)"), pushback(queue));
    }

    /** How soon to retry a call refused for want of a healthy sidecar: about when probes could bring one back. */
    static final long UNAVAILABLE_RETRY_AFTER_MILLIS = 1000;

    /** Pushback for an UNAVAILABLE refusal under degrade mode reject. */
    static Metadata unavailable() {
        final Metadata trailers = new Metadata();
        trailers.put(RETRY_AFTER_MS, Long.toString(UNAVAILABLE_RETRY_AFTER_MILLIS));
        trailers.put(RETRY_PUSHBACK_MS, Long.toString(UNAVAILABLE_RETRY_AFTER_MILLIS));
        return trailers;
    }

    /** The median recent wait: about when a slot would be free for a call that comes back. */
    private static Metadata pushback(BackendQueue queue) {
        final String millis = Long.toString(Math.max(MIN_RETRY_AFTER_MILLIS, queue.waitP50Millis()));
        final Metadata trailers = new Metadata();
        trailers.put(RETRY_AFTER_MS, millis);
        trailers.put(RETRY_PUSHBACK_MS, millis);
        return trailers;
    }
}
