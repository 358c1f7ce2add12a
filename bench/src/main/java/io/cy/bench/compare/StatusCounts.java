package io.cy.bench.compare;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gRPC statuses a coordinator's StreamPredict calls ended with so far, read from its
 * {@code llmproxy_requests_total} on the admin listener: how calls of a load generator that
 * reads no status (h2load) are checked.
 */
final class StatusCounts {

    private static final Pattern SAMPLE = Pattern.compile("^llmproxy_requests_total\\{([^}]*)\\} ([0-9.eE+]+)");
    private static final Pattern CODE = Pattern.compile("code=\"([A-Z_]+)\"");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    private final URI metrics;

    /** @param adminPort the coordinator's admin listener on 127.0.0.1 */
    StatusCounts(int adminPort) {
        this.metrics = URI.create("http://127.0.0.1:" + adminPort + "/metrics");
    }

    /** Status name to calls so far over gRPC; null when the metrics cannot be read. */
    Map<String, Long> read() throws InterruptedException {
        try {
            final HttpResponse<String> response = client.send(HttpRequest.newBuilder(metrics).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? parse(response.body()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Sums {@code llmproxy_requests_total} of {@code api="grpc"} by {@code code}, from the Prometheus text format. */
    static Map<String, Long> parse(String text) {
        final Map<String, Long> counts = new TreeMap<>();
        for (String line : text.split("\n")) {
            final Matcher sample = SAMPLE.matcher(line);
            if (!sample.find() || !sample.group(1).contains("api=\"grpc\"")) {
                continue;
            }
            final Matcher code = CODE.matcher(sample.group(1));
            if (code.find()) {
                counts.merge(code.group(1), Math.round(Double.parseDouble(sample.group(2))), Long::sum);
            }
        }
        return counts;
    }
}
