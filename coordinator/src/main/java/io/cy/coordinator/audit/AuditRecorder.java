package io.cy.coordinator.audit;

import static java.util.Objects.requireNonNull;

import io.cy.audit.AuditEvent;
import io.cy.audit.AuditLog;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.ControlMessage;
import io.grpc.Status;
import java.time.Instant;

/**
 * Turns what the coordinator saw into audit events: every call as it ends, every call refused
 * before it ran (authentication, validation, quota; each a {@link CallSummary} too) and every
 * Control command. Only enqueues: the audit log writes in the background.
 */
public final class AuditRecorder implements CallEndListener {

    private final AuditLog log;

    public AuditRecorder(AuditLog log) {
        this.log = requireNonNull(log, "log");
    }

    @Override
    public void onCallEnd(CallSummary s) {
        // Refused before a sidecar could be asked: credential, bad request, tenant mismatch, quota, audit.
        final boolean rejected = !s.status().isOk() && !"admitted".equals(s.quotaDecision());
        final AuditEvent.Builder event = AuditEvent.builder(rejected ? AuditEvent.Kind.REJECTED : AuditEvent.Kind.CALL)
                .traceId(s.traceId())
                .startTime(s.startTime())
                .endTime(s.startTime().plusNanos(s.durationNanos()))
                .api(s.api())
                .method(s.method())
                .tenant(s.tenant())
                .clientAddress(s.peer())
                .model(s.model())
                .adapter(s.adapter())
                .priority(s.priority())
                .sidecar(s.sidecar())
                .alias(s.alias())
                .backend(s.backend())
                .degraded(s.degraded())
                .status(s.status().getCode().name(), nullToEmpty(s.status().getDescription()))
                .chunks(s.chunks())
                .promptTokens(s.promptTokens())
                .timeToFirstChunkNanos(s.timeToFirstChunkNanos())
                .durationNanos(s.durationNanos())
                .bytesOut(s.bytesOut())
                .quotaDecision(s.quotaDecision())
                .cancelledByClient(s.cancelledByClient())
                .prompt(s.prompt(), log.storePrompts());
        if (rejected) {
            event.reason(nullToEmpty(s.status().getDescription()));
        }
        identify(event, s.identity());
        log.record(event.build());
    }

    /** A Control command and how it was answered; payload values of secret-looking keys are masked. */
    public void control(Identity caller, ControlMessage request, Status status, String answerStatus, String peer,
                        String api, long durationNanos) {
        final AuditEvent.Builder event = AuditEvent.builder(AuditEvent.Kind.CONTROL)
                .traceId(request.getTraceId())
                .api(api)
                .endTime(Instant.now())
                .durationNanos(durationNanos)
                .method("Control")
                .clientAddress(peer)
                .command(request.getCommand())
                .payload(request.getPayloadMap())
                .status(status.getCode().name(), status.isOk() ? answerStatus : nullToEmpty(status.getDescription()));
        if (caller != null) {
            event.tenant(caller.tenant());
        }
        identify(event, caller);
        log.record(event.build());
    }

    private static void identify(AuditEvent.Builder event, Identity identity) {
        if (identity != null) {
            event.subject(identity.subject()).credential(identity.kind().name().toLowerCase(java.util.Locale.ROOT),
                    identity.keyId());
        }
    }

    private static String shortName(String fullMethodName) {
        final int slash = fullMethodName.lastIndexOf('/');
        return slash < 0 ? fullMethodName : fullMethodName.substring(slash + 1);
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
