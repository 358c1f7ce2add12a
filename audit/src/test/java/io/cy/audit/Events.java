package io.cy.audit;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/** Events for the tests, with every field set. */
final class Events {

    private Events() {}

    /** A finished call of {@code tenant}, ending at {@code end}. */
    static AuditEvent call(String tenant, Instant end, int n) {
        return call(tenant, end, n, "User: Hello " + n + "\nAssistant:", AuditConfig.StorePrompts.SHA256);
    }

    /** A call whose prompt is kept as {@code policy} says. */
    static AuditEvent call(String tenant, Instant end, int n, String prompt, AuditConfig.StorePrompts policy) {
        return AuditEvent.builder(AuditEvent.Kind.CALL)
                .traceId("trace-" + tenant + "-" + n)
                .startTime(end.minusMillis(250))
                .endTime(end)
                .api("grpc")
                .method("StreamPredict")
                .tenant(tenant)
                .subject("user-" + n % 7)
                .credential("jwt", "k1")
                .clientAddress("10.0.0." + n % 250 + ":5" + n % 1000)
                .model("llama-3-8b")
                .adapter(n % 2 == 0 ? "" : "adapters/support-v2")
                .priority(n % 3)
                .sidecar("unix:///tmp/cy_sidecar.sock")
                .status("OK", "")
                .chunks(40 + n % 20)
                .promptTokens(12)
                .timeToFirstChunkNanos(Duration.ofMillis(48).toNanos())
                .durationNanos(Duration.ofMillis(250).toNanos())
                .bytesOut(1800 + n)
                .quotaDecision("allowed")
                .cancelledByClient(false)
                .prompt(prompt, policy)
                .build();
    }

    static AuditEvent rejected(String tenant, Instant end, String code, String reason) {
        return AuditEvent.builder(AuditEvent.Kind.REJECTED)
                .traceId("trace-rejected")
                .endTime(end)
                .api("http")
                .method("StreamPredict")
                .tenant(tenant)
                .clientAddress("10.0.0.9:4711")
                .status(code, reason)
                .reason(reason)
                .build();
    }

    static AuditEvent control(String tenant, Instant end) {
        return AuditEvent.builder(AuditEvent.Kind.CONTROL)
                .traceId("trace-control")
                .endTime(end)
                .method("Control")
                .tenant(tenant)
                .subject("ops")
                .credential("api_key", "ops-key")
                .command("drain_sidecar")
                .payload(Map.of("addr", "unix:///tmp/cy_sidecar.sock", "auth_token", "s3cr3t"))
                .status("OK", "")
                .durationNanos(1_000_000)
                .build();
    }
}
