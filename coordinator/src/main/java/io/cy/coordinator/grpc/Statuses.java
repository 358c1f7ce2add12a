package io.cy.coordinator.grpc;

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
     * Whether the sidecar call failed to reach the sidecar at all (refused, reset, unknown
     * host), as opposed to the sidecar answering with an error. Local transport failures carry
     * a cause; statuses read from the sidecar's trailers never do.
     */
    static boolean isUnreachable(Status status) {
        return status.getCode() == Status.Code.UNAVAILABLE && status.getCause() != null;
    }

    /** The status the client gets for the sidecar call's {@code status}. */
    static Status fromSidecar(Sidecar sidecar, Status status) {
        if (status.getCause() == null) {
            return status;
        }
        return status.withDescription("sidecar " + sidecar + ": " + describe(status)).withCause(null);
    }

    /** UNAVAILABLE naming each sidecar that was tried and why it failed. */
    static Status unreachable(List<String> failures) {
        return Status.UNAVAILABLE.withDescription(
                (failures.size() == 1 ? "sidecar " : "sidecars unavailable: ") + String.join("; ", failures));
    }

    static String failure(Sidecar sidecar, Status status) {
        return sidecar + ": " + describe(status);
    }

    /** A status for an exception thrown by our own code; the details stay in our log. */
    static Status internal(Throwable t) {
        return Status.INTERNAL.withDescription("coordinator error (" + t.getClass().getSimpleName() + ")");
    }

    private static String describe(Status status) {
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
