package io.cy.coordinator.webhook;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.CallSummary;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * One call's usage as the webhook sends it.
 *
 * @param userId the JWT subject or the API key's name; empty when the caller is unknown
 * @param apiKey the API key's name (never its value); empty when the caller used no API key
 */
public record UsageRecord(String requestId, String userId, String apiKey, String model, long promptTokens,
                          long completionTokens, boolean stream, String endpoint, Instant timestamp,
                          String backendUrl, String tenant, String status) {

    static final String GRPC_ENDPOINT = "/cy.llm.AiInference/StreamPredict";
    static final String HTTP_ENDPOINT = "/v1/chat/completions";

    /** The record of a call that reached a sidecar; null for one that did not. */
    public static UsageRecord of(CallSummary s) {
        if (s.sidecar().isEmpty()) {
            return null;
        }
        final Identity identity = s.identity();
        final String apiKey = identity != null && identity.kind() == Identity.CredentialKind.API_KEY
                ? identity.keyId() : "";
        final boolean http = "http".equals(s.api());
        return new UsageRecord(s.traceId(), identity == null ? "" : identity.subject(), apiKey, s.model(),
                s.promptTokens(), s.chunks(), s.stream(), http ? HTTP_ENDPOINT : GRPC_ENDPOINT,
                s.startTime().plusNanos(s.durationNanos()).truncatedTo(ChronoUnit.SECONDS), s.sidecar(), s.tenant(),
                s.status().getCode().name());
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }
}
