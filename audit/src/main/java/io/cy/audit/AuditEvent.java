package io.cy.audit;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * One audited event: a call that ran, a call refused before it ran, or a Control command.
 * Immutable; build one with {@link #builder(Kind)}. Text fields are never null ({@code ""} when
 * unknown; stored as NULL); instants are kept to the microsecond, as PostgreSQL keeps them.
 *
 * @param eventId unique per event; a replay of the same event is recognised by it
 * @param api {@code grpc} or {@code http}
 * @param method the method's short name, e.g. {@code StreamPredict}
 * @param credentialKind {@code jwt}, {@code api_key} or {@code unix_peer}; empty without a credential
 * @param keyId the signing key's id of a JWT, the name of an API key
 * @param statusCode the gRPC status code's name, e.g. {@code OK}, {@code UNAVAILABLE}
 * @param chunks chunks (tokens) delivered to the client
 * @param promptTokens the prompt's length in tokens, estimated
 * @param timeToFirstChunkNanos from the start to the first response; -1 when there was none
 * @param quotaDecision what quota admission decided, e.g. {@code allowed}, {@code rejected}; empty if none ran
 * @param reason why a call was rejected (never the credential)
 * @param command the Control command
 * @param payload the Control payload, values of secret-looking keys replaced by {@code ***}
 * @param promptSha256 the prompt's SHA-256 in hex, when {@code audit.store_prompts} is {@code sha256}
 * @param prompt the prompt, when {@code audit.store_prompts} is {@code full}
 * @param alias the model alias the request named; empty when none
 * @param backend the backend that served the call, or was chosen for it
 * @param degraded the {@code cy-degraded} value when the alias's degrade policy applied; empty when not
 */
public record AuditEvent(
        Kind kind,
        UUID eventId,
        String traceId,
        Instant startTime,
        Instant endTime,
        String api,
        String method,
        String tenant,
        String subject,
        String credentialKind,
        String keyId,
        String clientAddress,
        String model,
        String adapter,
        int priority,
        String sidecar,
        String statusCode,
        String statusDescription,
        long chunks,
        long promptTokens,
        long timeToFirstChunkNanos,
        long durationNanos,
        long bytesOut,
        String quotaDecision,
        boolean cancelledByClient,
        String reason,
        String command,
        Map<String, String> payload,
        String promptSha256,
        String prompt,
        String alias,
        String backend,
        String degraded) {

    /** What the event is about; stored as its lower-case name. */
    public enum Kind {
        /** A call that was admitted and ran (whatever its outcome). */
        CALL,
        /** A call refused before it ran: authentication, quota, validation. */
        REJECTED,
        /** A Control command. */
        CONTROL;

        private final String dbName = name().toLowerCase(Locale.ROOT);

        /** The name stored in the table. */
        public String dbName() {
            return dbName;
        }
    }

    /** What replaces the value of a Control payload key that looks like it holds a secret. */
    public static final String REDACTED = "***";

    private static final String[] SECRET_KEY_PARTS = {
        "token", "secret", "passw", "pwd", "credential", "auth", "cookie", "signature", "private", "key",
    };

    public AuditEvent {
        requireNonNull(kind, "kind");
        requireNonNull(eventId, "eventId");
        requireNonNull(endTime, "endTime");
        endTime = endTime.truncatedTo(ChronoUnit.MICROS);
        startTime = startTime == null ? endTime : startTime.truncatedTo(ChronoUnit.MICROS);
        traceId = orEmpty(traceId);
        api = orEmpty(api);
        method = orEmpty(method);
        tenant = orEmpty(tenant);
        subject = orEmpty(subject);
        credentialKind = orEmpty(credentialKind);
        keyId = orEmpty(keyId);
        clientAddress = orEmpty(clientAddress);
        model = orEmpty(model);
        adapter = orEmpty(adapter);
        sidecar = orEmpty(sidecar);
        statusCode = orEmpty(statusCode);
        statusDescription = orEmpty(statusDescription);
        quotaDecision = orEmpty(quotaDecision);
        reason = orEmpty(reason);
        command = orEmpty(command);
        payload = payload == null || payload.isEmpty()
                ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(payload));
        promptSha256 = orEmpty(promptSha256);
        prompt = orEmpty(prompt);
        alias = orEmpty(alias);
        backend = orEmpty(backend);
        degraded = orEmpty(degraded);
        if (timeToFirstChunkNanos < 0) {
            timeToFirstChunkNanos = -1;
        }
    }

    /** An event without the routing fields (alias, backend), as spooled before they existed. */
    public AuditEvent(Kind kind, UUID eventId, String traceId, Instant startTime, Instant endTime, String api,
                      String method, String tenant, String subject, String credentialKind, String keyId,
                      String clientAddress, String model, String adapter, int priority, String sidecar,
                      String statusCode, String statusDescription, long chunks, long promptTokens,
                      long timeToFirstChunkNanos, long durationNanos, long bytesOut, String quotaDecision,
                      boolean cancelledByClient, String reason, String command, Map<String, String> payload,
                      String promptSha256, String prompt) {
        this(kind, eventId, traceId, startTime, endTime, api, method, tenant, subject, credentialKind, keyId,
                clientAddress, model, adapter, priority, sidecar, statusCode, statusDescription, chunks, promptTokens,
                timeToFirstChunkNanos, durationNanos, bytesOut, quotaDecision, cancelledByClient, reason, command,
                payload, promptSha256, prompt, "", "", "");
    }

    /** An event without the degrade marker, as spooled before it existed. */
    public AuditEvent(Kind kind, UUID eventId, String traceId, Instant startTime, Instant endTime, String api,
                      String method, String tenant, String subject, String credentialKind, String keyId,
                      String clientAddress, String model, String adapter, int priority, String sidecar,
                      String statusCode, String statusDescription, long chunks, long promptTokens,
                      long timeToFirstChunkNanos, long durationNanos, long bytesOut, String quotaDecision,
                      boolean cancelledByClient, String reason, String command, Map<String, String> payload,
                      String promptSha256, String prompt, String alias, String backend) {
        this(kind, eventId, traceId, startTime, endTime, api, method, tenant, subject, credentialKind, keyId,
                clientAddress, model, adapter, priority, sidecar, statusCode, statusDescription, chunks, promptTokens,
                timeToFirstChunkNanos, durationNanos, bytesOut, quotaDecision, cancelledByClient, reason, command,
                payload, promptSha256, prompt, alias, backend, "");
    }

    public static Builder builder(Kind kind) {
        return new Builder(kind);
    }

    /** Whether a Control payload key looks like it names a secret, so that its value is not stored. */
    public static boolean isSecretKey(String key) {
        final String lower = key.toLowerCase(Locale.ROOT);
        for (String part : SECRET_KEY_PARTS) {
            if (lower.contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** A rough token count for a prompt: one token per four characters, as commonly estimated. */
    public static long estimateTokens(CharSequence prompt) {
        return (prompt.length() + 3) / 4;
    }

    /** Leaves out the prompt and the payload's values. */
    @Override
    public String toString() {
        return "AuditEvent[" + kind.dbName() + " " + eventId + " trace_id=" + traceId + " tenant=" + tenant
                + " method=" + method + " status=" + statusCode + " end=" + endTime + "]";
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /** Builds an {@link AuditEvent}. A random event id is chosen unless one is set; the end time must be set. */
    public static final class Builder {
        private final Kind kind;
        private UUID eventId;
        private String traceId;
        private Instant startTime;
        private Instant endTime;
        private String api = "grpc";
        private String method;
        private String tenant;
        private String subject;
        private String credentialKind;
        private String keyId;
        private String clientAddress;
        private String model;
        private String adapter;
        private int priority;
        private String sidecar;
        private String alias;
        private String backend;
        private String degraded;
        private String statusCode;
        private String statusDescription;
        private long chunks;
        private long promptTokens;
        private long timeToFirstChunkNanos = -1;
        private long durationNanos;
        private long bytesOut;
        private String quotaDecision;
        private boolean cancelledByClient;
        private String reason;
        private String command;
        private Map<String, String> payload;
        private String promptSha256;
        private String prompt;

        private Builder(Kind kind) {
            this.kind = requireNonNull(kind, "kind");
        }

        public Builder eventId(UUID eventId) {
            this.eventId = eventId;
            return this;
        }

        public Builder traceId(String traceId) {
            this.traceId = traceId;
            return this;
        }

        /** Defaults to the end time. */
        public Builder startTime(Instant startTime) {
            this.startTime = startTime;
            return this;
        }

        public Builder endTime(Instant endTime) {
            this.endTime = endTime;
            return this;
        }

        /** {@code grpc} (the default) or {@code http}. */
        public Builder api(String api) {
            this.api = api;
            return this;
        }

        public Builder method(String method) {
            this.method = method;
            return this;
        }

        public Builder tenant(String tenant) {
            this.tenant = tenant;
            return this;
        }

        public Builder subject(String subject) {
            this.subject = subject;
            return this;
        }

        public Builder credential(String kind, String keyId) {
            this.credentialKind = kind;
            this.keyId = keyId;
            return this;
        }

        public Builder clientAddress(String clientAddress) {
            this.clientAddress = clientAddress;
            return this;
        }

        public Builder model(String model) {
            this.model = model;
            return this;
        }

        public Builder adapter(String adapter) {
            this.adapter = adapter;
            return this;
        }

        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        public Builder sidecar(String sidecar) {
            this.sidecar = sidecar;
            return this;
        }

        public Builder alias(String alias) {
            this.alias = alias;
            return this;
        }

        public Builder backend(String backend) {
            this.backend = backend;
            return this;
        }

        public Builder degraded(String degraded) {
            this.degraded = degraded;
            return this;
        }

        /** The gRPC status code's name ({@code OK}, {@code UNAVAILABLE}, …) and description. */
        public Builder status(String code, String description) {
            this.statusCode = code;
            this.statusDescription = description;
            return this;
        }

        public Builder chunks(long chunks) {
            this.chunks = chunks;
            return this;
        }

        public Builder promptTokens(long promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** -1 when no response came. */
        public Builder timeToFirstChunkNanos(long nanos) {
            this.timeToFirstChunkNanos = nanos;
            return this;
        }

        public Builder durationNanos(long nanos) {
            this.durationNanos = nanos;
            return this;
        }

        public Builder bytesOut(long bytesOut) {
            this.bytesOut = bytesOut;
            return this;
        }

        public Builder quotaDecision(String quotaDecision) {
            this.quotaDecision = quotaDecision;
            return this;
        }

        public Builder cancelledByClient(boolean cancelledByClient) {
            this.cancelledByClient = cancelledByClient;
            return this;
        }

        /** Why the call was refused; must not hold the credential. */
        public Builder reason(String reason) {
            this.reason = reason;
            return this;
        }

        public Builder command(String command) {
            this.command = command;
            return this;
        }

        /**
         * The Control payload, kept sorted by key; the values of keys that look like they hold a
         * secret ({@link #isSecretKey}) are replaced by {@link #REDACTED}.
         */
        public Builder payload(Map<String, String> payload) {
            final Map<String, String> redacted = new TreeMap<>();
            payload.forEach((k, v) -> redacted.put(k, isSecretKey(k) ? REDACTED : v));
            this.payload = redacted;
            return this;
        }

        /**
         * The call's prompt, kept as {@code policy} says: not at all, as its SHA-256 (computed here,
         * on the calling thread: about a microsecond per kilobyte), or in full.
         */
        public Builder prompt(String text, AuditConfig.StorePrompts policy) {
            requireNonNull(policy, "policy");
            this.promptSha256 = null;
            this.prompt = null;
            if (text == null) {
                return this;
            }
            switch (policy) {
                case NONE -> { }
                case SHA256 -> this.promptSha256 = sha256Hex(text);
                case FULL -> this.prompt = text;
            }
            return this;
        }

        public AuditEvent build() {
            requireNonNull(endTime, "endTime");
            return new AuditEvent(kind, eventId == null ? EventIds.next() : eventId, traceId, startTime, endTime,
                    api, method, tenant, subject, credentialKind, keyId, clientAddress, model, adapter, priority,
                    sidecar, statusCode, statusDescription, chunks, promptTokens, timeToFirstChunkNanos,
                    durationNanos, bytesOut, quotaDecision, cancelledByClient, reason, command, payload,
                    promptSha256, prompt, alias, backend, degraded);
        }

        private static String sha256Hex(String text) {
            try {
                return HexFormat.of().formatHex(
                        MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is always present", e);
            }
        }
    }
}
