package io.cy.coordinator.quota;

import io.grpc.Metadata;
import io.grpc.Status;

/** Whether a call may start: an {@link Admission} to settle later, or the status to refuse it with. */
public final class QuotaDecision {

    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> RETRY_PUSHBACK_MS =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    private final Admission admission;
    private final Status status;
    private final long retryAfterMillis;
    private final RejectionReason reason;

    private QuotaDecision(Admission admission, Status status, long retryAfterMillis, RejectionReason reason) {
        this.admission = admission;
        this.status = status;
        this.retryAfterMillis = retryAfterMillis;
        this.reason = reason;
    }

    static QuotaDecision admitted(Admission admission) {
        return new QuotaDecision(admission, null, 0, null);
    }

    /** RESOURCE_EXHAUSTED: over a rate or concurrency limit; come back after {@code retryAfterMillis}. */
    static QuotaDecision exhausted(RejectionReason reason, String description, long retryAfterMillis) {
        return new QuotaDecision(null, Status.RESOURCE_EXHAUSTED.withDescription(description),
                Math.max(1, retryAfterMillis), reason);
    }

    /** A request the tenant may never make as it is (a ceiling, a model not allowed). */
    static QuotaDecision refused(RejectionReason reason, Status status) {
        return new QuotaDecision(null, status, 0, reason);
    }

    public boolean isAdmitted() {
        return admission != null;
    }

    public Admission admission() {
        return admission;
    }

    public Status status() {
        return status;
    }

    public RejectionReason reason() {
        return reason;
    }

    /** Trailers for a refusal: when to retry, for clients and for grpc's own retry policy. */
    public Metadata trailers() {
        final Metadata trailers = new Metadata();
        if (retryAfterMillis > 0) {
            trailers.put(RETRY_AFTER_MS, Long.toString(retryAfterMillis));
            trailers.put(RETRY_PUSHBACK_MS, Long.toString(retryAfterMillis));
        }
        return trailers;
    }
}
