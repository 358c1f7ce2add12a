package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.call.PrintableText;
import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;

/**
 * Checks a StreamPredict request against the configured limits before it costs a sidecar
 * anything. Each rule answers INVALID_ARGUMENT with the field, the value and the limit. Zero
 * means "unset" for every generation parameter, as on the worker.
 */
public final class RequestValidator {

    private static final int MIN_PRIORITY = -100;
    private static final int MAX_PRIORITY = 100;

    private final CoordinatorConfig.Limits limits;

    public RequestValidator(CoordinatorConfig.Limits limits) {
        this.limits = requireNonNull(limits, "limits");
    }

    /** Returns null when the request is valid, else the status to answer with. */
    public Status validate(StreamPredictRequest request) {
        final int promptBytes = request.getPromptBytes().size();
        if (promptBytes == 0) {
            return invalid("prompt: empty (expected: non-empty)");
        }
        if (promptBytes > limits.maxPromptBytes()) {
            return invalid("prompt: " + promptBytes + " bytes (expected: <= " + limits.maxPromptBytes() + ")");
        }
        final String modelProblem = PrintableText.check(request.getModelId(), limits.maxModelIdChars());
        if (modelProblem != null) {
            return invalid("model_id: " + modelProblem);
        }
        final GenerationParameters g = request.getGeneration();
        final long maxNewTokens = Integer.toUnsignedLong(g.getMaxNewTokens());
        if (maxNewTokens > limits.maxNewTokens()) {
            return invalid("generation.max_new_tokens: " + maxNewTokens + " (expected: <= " + limits.maxNewTokens() + ")");
        }
        Status status = checkRange("generation.temperature", g.getTemperature(), 2);
        if (status == null) {
            status = checkRange("generation.top_p", g.getTopP(), 1);
        }
        if (status == null) {
            status = checkRange("generation.repetition_penalty", g.getRepetitionPenalty(), 10);
        }
        if (status != null) {
            return status;
        }
        if (request.getPriority() < MIN_PRIORITY || request.getPriority() > MAX_PRIORITY) {
            return invalid("priority: " + request.getPriority()
                    + " (expected: in [" + MIN_PRIORITY + ", " + MAX_PRIORITY + "])");
        }
        final String traceProblem = PrintableText.check(request.getMetadata().getTraceId(), TraceIds.MAX_CHARS);
        if (traceProblem != null) {
            return invalid("metadata.trace_id: " + traceProblem);
        }
        return null;
    }

    private static Status checkRange(String field, double value, double max) {
        // Written so that NaN fails too.
        if (value >= 0 && value <= max) {
            return null;
        }
        return invalid(field + ": " + value + " (expected: in [0, " + (long) max + "])");
    }

    private static Status invalid(String description) {
        return Status.INVALID_ARGUMENT.withDescription(description);
    }
}
