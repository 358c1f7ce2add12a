package io.cy.sim;

import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.Map;

/**
 * What one StreamPredict call will do: the sidecar's settings, overridden per request by
 * {@code metadata.extra} keys so a test or demo can shape a single call:
 *
 * <ul>
 *   <li>{@code sim.fail} — a status code name, e.g. {@code NOT_FOUND}
 *   <li>{@code sim.fail_after} — chunks before that failure (0 fails before any chunk)
 *   <li>{@code sim.stall_after} — chunks before going silent until cancelled; -1 for never
 *   <li>{@code sim.ttft_ms}, {@code sim.gap_ms} — delay before the first chunk and between chunks
 *   <li>{@code sim.chunk_bytes} — pad every chunk to exactly this many characters; 0 for plain words
 * </ul>
 *
 * <p>Values are parsed strictly and unknown {@code sim.*} keys are rejected, so a typo fails
 * loudly instead of silently running the default scenario.
 */
final class CallPlan {

    static final String FAIL = "sim.fail";
    static final String FAIL_AFTER = "sim.fail_after";
    static final String STALL_AFTER = "sim.stall_after";
    static final String TTFT_MS = "sim.ttft_ms";
    static final String GAP_MS = "sim.gap_ms";
    static final String CHUNK_BYTES = "sim.chunk_bytes";

    /** Chunks to send before the final message. */
    final int tokens;
    final long ttftNanos;
    final long gapNanos;
    /** Null for no failure. */
    final Status.Code failStatus;
    final int failAfter;
    /** -1 for never. */
    final int stallAfter;
    final int chunkBytes;

    private CallPlan(int tokens, long ttftNanos, long gapNanos, Status.Code failStatus, int failAfter,
            int stallAfter, int chunkBytes) {
        this.tokens = tokens;
        this.ttftNanos = ttftNanos;
        this.gapNanos = gapNanos;
        this.failStatus = failStatus;
        this.failAfter = failAfter;
        this.stallAfter = stallAfter;
        this.chunkBytes = chunkBytes;
    }

    /** Checks the request against the settings and plans the call; the exception is the status to fail with. */
    static CallPlan of(SimConfig config, StreamPredictRequest request) throws StatusException {
        if (!config.models().isEmpty() && !config.models().contains(request.getModelId())) {
            throw Status.NOT_FOUND.withDescription("model not found: " + request.getModelId()).asException();
        }
        // getPromptBytes() is the message's own UTF-8 bytes: no re-encoding.
        final int promptBytes = request.getPromptBytes().size();
        if (promptBytes > config.maxPromptBytes()) {
            throw invalid("prompt too long: " + promptBytes + " bytes (max " + config.maxPromptBytes() + ")");
        }
        final int maxNewTokens = request.getGeneration().getMaxNewTokens();
        if (maxNewTokens < 0) { // a uint32 above Integer.MAX_VALUE
            throw invalid("max_new_tokens: " + Integer.toUnsignedString(maxNewTokens)
                    + " (expected: <= " + Integer.MAX_VALUE + ")");
        }
        final int tokens = maxNewTokens == 0 ? config.defaultMaxNewTokens() : maxNewTokens;

        long ttftNanos = config.timeToFirstToken().toNanos();
        long gapNanos = config.tokenGap().toNanos();
        Status.Code failStatus = config.failStatus();
        int failAfter = config.failAfter();
        int stallAfter = config.stallAfter();
        int chunkBytes = config.chunkBytes();
        final Map<String, String> extra = request.getMetadata().getExtraMap();
        for (Map.Entry<String, String> e : extra.entrySet()) {
            final String key = e.getKey();
            final String value = e.getValue();
            if (!key.startsWith("sim.")) {
                continue;
            }
            switch (key) {
                case FAIL:
                    failStatus = parseFailCode(key, value);
                    break;
                case FAIL_AFTER:
                    failAfter = parseInt(key, value, 0, "an integer >= 0");
                    break;
                case STALL_AFTER:
                    stallAfter = parseInt(key, value, -1, "an integer >= 0, or -1 for never");
                    break;
                case TTFT_MS:
                    ttftNanos = parseInt(key, value, 0, "milliseconds, an integer >= 0") * 1_000_000L;
                    break;
                case GAP_MS:
                    gapNanos = parseInt(key, value, 0, "milliseconds, an integer >= 0") * 1_000_000L;
                    break;
                case CHUNK_BYTES:
                    chunkBytes = parseInt(key, value, 0, "an integer >= 0");
                    break;
                default:
                    throw invalid(key + ": unknown key (expected one of: " + FAIL + ", " + FAIL_AFTER + ", "
                            + STALL_AFTER + ", " + TTFT_MS + ", " + GAP_MS + ", " + CHUNK_BYTES + ")");
            }
        }
        if (failStatus == null && extra.containsKey(FAIL_AFTER)) {
            throw invalid(FAIL_AFTER + ": " + extra.get(FAIL_AFTER) + " (expected: together with " + FAIL + ")");
        }
        return new CallPlan(tokens, ttftNanos, gapNanos, failStatus, failAfter, stallAfter, chunkBytes);
    }

    /** Parses a status code name other than OK; shared with the command line. */
    static Status.Code parseFailCode(String name, String value) throws StatusException {
        try {
            final Status.Code code = Status.Code.valueOf(value);
            if (code != Status.Code.OK) {
                return code;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw invalid(name + ": " + value + " (expected: a gRPC status code name other than OK, e.g. NOT_FOUND)");
    }

    /** Whether the call ends or goes silent before its first chunk, so it need not wait for the first token. */
    boolean stopsBeforeFirstChunk() {
        return (failStatus != null && failAfter == 0) || stallAfter == 0;
    }

    private static int parseInt(String key, String value, int min, String expected) throws StatusException {
        final int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw invalid(key + ": " + value + " (expected: " + expected + ")");
        }
        if (n < min) {
            throw invalid(key + ": " + value + " (expected: " + expected + ")");
        }
        return n;
    }

    private static StatusException invalid(String description) {
        return Status.INVALID_ARGUMENT.withDescription(description).asException();
    }
}
