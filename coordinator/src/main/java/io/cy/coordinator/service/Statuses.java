package io.cy.coordinator.service;

import io.cy.coordinator.sidecar.Sidecar;
import io.grpc.Status;
import java.util.List;

/**
 * The one place where failures become the statuses clients see. A status the sidecar sent is
 * relayed unchanged; a failure that arose on our side of the sidecar connection says which
 * sidecar it was; anything unexpected becomes INTERNAL without internals.
 */
final class Statuses {

    private Statuses() {}

    /**
     * Whether a sidecar call failed without the sidecar answering: the connection was refused,
     * reset or closed. Such a call may be retried elsewhere if nothing reached the client yet.
     */
    static boolean isUnreachable(Status status, boolean answeredBySidecar) {
        return status.getCode() == Status.Code.UNAVAILABLE && !answeredBySidecar;
    }

    /**
     * Whether a sidecar call that failed before its first response may be retried on another
     * sidecar (gRFC A6): UNAVAILABLE, whether the sidecar said so or its connection failed.
     */
    static boolean isRetriable(Status status) {
        return status.getCode() == Status.Code.UNAVAILABLE;
    }

    /**
     * What a finished sidecar call counts as for outlier ejection: null when it says nothing
     * against the sidecar, else the failure's name. UNAVAILABLE (refused, reset or answered) and
     * INTERNAL count, and so does a deadline the sidecar ran into before its first chunk; the
     * caller has already set aside calls ended by the client or by the coordinator itself.
     */
    static String outlierFailure(Status settled, boolean beforeFirstMessage) {
        switch (settled.getCode()) {
            case UNAVAILABLE:
            case INTERNAL:
                return settled.getCode().name();
            case DEADLINE_EXCEEDED:
                return beforeFirstMessage ? "DEADLINE_EXCEEDED before the first chunk" : null;
            default:
                return null;
        }
    }

    /**
     * The status the client gets for a sidecar call's {@code status}: the sidecar's own status
     * unchanged; a failure of the connection to it named after the sidecar.
     */
    static Status fromSidecar(Sidecar sidecar, Status status, boolean answeredBySidecar) {
        if (answeredBySidecar || status.getCode() == Status.Code.CANCELLED
                || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return status;
        }
        return status.withDescription("sidecar " + sidecar + ": " + describe(status)).withCause(null);
    }

    /** UNAVAILABLE naming each sidecar that was tried and why it failed. */
    static Status unreachable(List<String> failures) {
        return Status.UNAVAILABLE.withDescription(
                (failures.size() == 1 ? "sidecar " : "sidecars unavailable: ") + String.join("; ", failures));
    }

    /** " (addr: why; …)" for the sidecars out of rotation or ejected with a known reason; "" when none has one. */
    static String reasons(List<Sidecar> sidecars) {
        final List<String> reasons = new java.util.ArrayList<>();
        for (Sidecar sidecar : sidecars) {
            final String ejection = sidecar.isEjected() ? "ejected after " + sidecar.lastEjectionReason() : "";
            final String why = sidecar.reason().isEmpty() ? ejection
                    : ejection.isEmpty() ? sidecar.reason() : sidecar.reason() + ", " + ejection;
            if (!why.isEmpty()) {
                reasons.add(sidecar + ": " + why);
            }
        }
        return reasons.isEmpty() ? "" : " (" + String.join("; ", reasons) + ")";
    }

    static String failure(Sidecar sidecar, Status status) {
        return sidecar + ": " + describe(status);
    }

    /** A status for an exception thrown by our own code; the details stay in our log. */
    static Status internal(Throwable t) {
        return Status.INTERNAL.withDescription("coordinator error (" + t.getClass().getSimpleName() + ")");
    }

    static String describe(Status status) {
        final String description = status.getDescription();
        final Throwable cause = status.getCause();
        final String causeMessage = cause == null ? null
                : cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        if (description == null) {
            return causeMessage == null ? status.getCode().toString() : causeMessage;
        }
        if (causeMessage == null || description.contains(causeMessage)) {
            return description;
        }
        return description + " (" + causeMessage + ")";
    }
}
