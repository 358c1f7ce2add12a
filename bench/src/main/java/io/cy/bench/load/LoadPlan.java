package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * One load run: how calls are started, how many, for how long, and the request every call sends.
 *
 * @param concurrency closed loop: calls kept open at once (each starts the next when it ends);
 *     open loop: the most calls outstanding, so an overloaded target cannot pile up unbounded calls
 * @param calls the most calls to start
 * @param duration no call starts later than this after the run began
 * @param rate open loop: calls started per second on a fixed schedule; 0 for a closed loop
 * @param request sent as the only request message of every call, then half-closed
 * @param expectedChunks data chunks every stream must have; -1 for any number
 * @param token sent as {@code authorization: Bearer <token>}; null for none
 * @param drainTimeout how long calls still open at the end of {@code duration} may take to
 *     finish; calls open after it are cancelled and counted as {@code unfinished}
 */
public record LoadPlan(
        int concurrency,
        long calls,
        Duration duration,
        double rate,
        StreamPredictRequest request,
        int expectedChunks,
        String token,
        Duration drainTimeout) {

    public LoadPlan {
        requireNonNull(duration, "duration");
        requireNonNull(request, "request");
        requireNonNull(drainTimeout, "drainTimeout");
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency: " + concurrency + " (expected: >= 1)");
        }
        if (calls < 1) {
            throw new IllegalArgumentException("calls: " + calls + " (expected: >= 1)");
        }
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("duration: " + duration + " (expected: > 0)");
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("rate: " + rate + " (expected: a finite number >= 0)");
        }
        if (expectedChunks < -1) {
            throw new IllegalArgumentException("expectedChunks: " + expectedChunks + " (expected: >= -1)");
        }
    }

    public boolean openLoop() {
        return rate > 0;
    }

    /** {@code request} with {@code traceId} as its {@code metadata.trace_id}, its other metadata kept. */
    public static StreamPredictRequest withTraceId(StreamPredictRequest request, String traceId) {
        requireNonNull(traceId, "traceId");
        return request.toBuilder().setMetadata(request.getMetadata().toBuilder().setTraceId(traceId)).build();
    }

    /** A StreamPredict request with a prompt of exactly {@code promptBytes} ASCII bytes. */
    public static StreamPredictRequest request(String model, int promptBytes, int maxNewTokens,
            Map<String, String> extra) {
        requireNonNull(model, "model");
        requireNonNull(extra, "extra");
        if (promptBytes < 1) {
            throw new IllegalArgumentException("promptBytes: " + promptBytes + " (expected: >= 1)");
        }
        final StreamPredictRequest.Builder request = StreamPredictRequest.newBuilder()
                .setModelId(model)
                .setPrompt(prompt(promptBytes))
                .setGeneration(GenerationParameters.newBuilder()
                        .setMaxNewTokens(maxNewTokens)
                        .setTemperature(0.7)
                        .setTopP(0.9)
                        .setRepetitionPenalty(1.0));
        if (!extra.isEmpty()) {
            request.setMetadata(StreamMetadata.newBuilder().putAllExtra(extra));
        }
        return request.build();
    }

    /** The sim's per-request pacing: {@code sim.ttft_ms} and {@code sim.gap_ms}, left out when zero. */
    public static Map<String, String> simPacing(int ttftMs, int gapMs) {
        if (ttftMs == 0 && gapMs == 0) {
            return Map.of();
        }
        return Map.of("sim.ttft_ms", Integer.toString(ttftMs), "sim.gap_ms", Integer.toString(gapMs));
    }

    static String prompt(int bytes) {
        final StringBuilder prompt = new StringBuilder(bytes + 16).append("User: ");
        while (prompt.length() < bytes) {
            prompt.append("lorem ipsum ");
        }
        prompt.setLength(bytes);
        return prompt.toString();
    }

    /** E.g. "closed loop, 64 concurrent" or "open loop, 500 calls/s (at most 1000 outstanding)". */
    public String describe() {
        if (openLoop()) {
            return String.format(Locale.ROOT, "open loop, %s calls/s (at most %d outstanding)",
                    trim(rate), concurrency);
        }
        return "closed loop, " + concurrency + " concurrent";
    }

    private static String trim(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }
}
