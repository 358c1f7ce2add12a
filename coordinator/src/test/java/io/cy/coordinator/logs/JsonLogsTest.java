package io.cy.coordinator.logs;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** {@code logging.format: json}: every line one JSON object; the access line's fields and the trace id as keys. */
class JsonLogsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theAccessLineIsOneJsonObjectWithItsFieldsAndTheTraceId() throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final LoggerContext context = contextWritingTo(out);

        assertThat(LogFormat.useJson(context)).isTrue();
        new JsonAccessLog(context.getLogger("cy.access")).onCallEnd(new CallSummary("StreamPredict", "grpc",
                "trace-42", "10.0.0.1:5000", Instant.now(),
                new Identity("alice", "acme", Set.of(), Identity.CredentialKind.JWT, "kid"), "acme", "sim", "", 0, "",
                3, "unix:///s.sock", Status.NOT_FOUND.withDescription("model \"x\" not found"), 0, 0, -1, 2_500_000,
                "admitted", false));
        context.stop();

        final String[] lines = out.toString(StandardCharsets.UTF_8).trim().split("\n");
        assertThat(lines).hasSize(1);
        final JsonNode line = JSON.readTree(lines[0]);
        assertThat(line.get("level").asText()).isEqualTo("INFO");
        assertThat(line.get("loggerName").asText()).isEqualTo("cy.access");
        assertThat(line.get("mdc").get("trace_id").asText()).isEqualTo("trace-42");
        final Map<String, String> fields = new HashMap<>();
        line.get("kvpList").forEach(pair -> pair.fields().forEachRemaining(f -> fields.put(f.getKey(), f.getValue().asText())));
        assertThat(fields).containsEntry("method", "StreamPredict").containsEntry("trace_id", "trace-42")
                .containsEntry("status", "NOT_FOUND").containsEntry("error", "model \"x\" not found")
                .containsEntry("subject", "alice").containsEntry("tenant", "acme").containsEntry("duration_ms", "2.5")
                .containsEntry("sidecar", "unix:///s.sock");
        assertThat(MDC.get(JsonAccessLog.TRACE_ID)).isNull();
    }

    @Test
    void otherLinesCarryTheMdcOfTheirThread() throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final LoggerContext context = contextWritingTo(out);
        LogFormat.useJson(context);

        MDC.put(JsonAccessLog.TRACE_ID, "trace-7");
        try {
            context.getLogger("io.cy.coordinator.Something").warn("sidecar {} refused", "a");
        } finally {
            MDC.remove(JsonAccessLog.TRACE_ID);
        }
        context.stop();

        final JsonNode line = JSON.readTree(out.toString(StandardCharsets.UTF_8).trim());
        assertThat(line.get("formattedMessage").asText()).isEqualTo("sidecar a refused");
        assertThat(line.get("mdc").get("trace_id").asText()).isEqualTo("trace-7");
    }

    /** A logback context like logback.xml's: an appender named STDOUT with a text pattern on the root logger. */
    private static LoggerContext contextWritingTo(ByteArrayOutputStream out) {
        final LoggerContext context = new LoggerContext();
        // The MDC of the real logging, which the code under test writes to.
        context.setMDCAdapter(MDC.getMDCAdapter());
        final PatternLayoutEncoder text = new PatternLayoutEncoder();
        text.setContext(context);
        text.setPattern("%msg%n");
        text.start();
        final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setName(LogFormat.APPENDER);
        appender.setContext(context);
        appender.setEncoder(text);
        appender.setOutputStream(out);
        appender.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);
        return context;
    }
}
