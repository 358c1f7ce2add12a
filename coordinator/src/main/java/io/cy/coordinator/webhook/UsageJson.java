package io.cy.coordinator.webhook;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.format.DateTimeFormatter;
import java.util.List;

/** The webhook's body: one JSON object, or for batches a JSON array of them; keys in the documented order. */
final class UsageJson {

    private static final JsonFactory JSON = new JsonFactory();

    private UsageJson() {}

    /** A single record as an object when {@code asArray} is false, else the records as an array. */
    static byte[] body(List<UsageRecord> records, boolean asArray) {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(256 * records.size());
        try (JsonGenerator json = JSON.createGenerator(out)) {
            if (asArray) {
                json.writeStartArray();
            }
            for (UsageRecord r : records) {
                write(json, r);
            }
            if (asArray) {
                json.writeEndArray();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator json, UsageRecord r) throws IOException {
        json.writeStartObject();
        json.writeStringField("request_id", r.requestId());
        json.writeStringField("user_id", r.userId());
        json.writeStringField("api_key", r.apiKey());
        json.writeStringField("model", r.model());
        json.writeNumberField("prompt_tokens", r.promptTokens());
        json.writeNumberField("completion_tokens", r.completionTokens());
        json.writeNumberField("total_tokens", r.totalTokens());
        json.writeBooleanField("is_stream", r.stream());
        json.writeStringField("endpoint", r.endpoint());
        json.writeStringField("timestamp", DateTimeFormatter.ISO_INSTANT.format(r.timestamp()));
        json.writeStringField("backend_url", r.backendUrl());
        json.writeStringField("tenant", r.tenant());
        json.writeStringField("status", r.status());
        json.writeEndObject();
    }
}
