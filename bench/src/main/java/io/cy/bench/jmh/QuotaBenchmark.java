package io.cy.bench.jmh;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.quota.LocalQuotaStore;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What quotas cost a call: admission (ceilings, a concurrency slot, a request and a token
 * reservation from Bucket4j buckets) and settlement (the unused reservation given back), with
 * limits high enough never to refuse; and the same path for a tenant without limits.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class QuotaBenchmark {

    private Quotas limited;
    private Quotas unlimited;
    private StreamPredictRequest request;

    @Setup
    public void setUp() {
        final CoordinatorConfig withLimits = ConfigLoader.fromYaml("""
                quota:
                  default:
                    requests_per_minute: 1000000000
                    concurrent: 1000000
                    tokens_per_minute: 60000000000
                    tokens_per_day: 86400000000000
                    max_new_tokens: 4096
                """, Map.of("CY_AUTH_MODE", "none")).config();
        limited = new Quotas(withLimits.quota(), new LocalQuotaStore(1000), 8192);
        final CoordinatorConfig none = ConfigLoader.fromYaml("", Map.of("CY_AUTH_MODE", "none")).config();
        unlimited = new Quotas(none.quota(), new LocalQuotaStore(1000), 8192);
        request = StreamPredictRequest.newBuilder()
                .setModelId("sim")
                .setPrompt("User: Hello\nAssistant:")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(16))
                .build();
    }

    @Benchmark
    public QuotaDecision admitAndSettle() {
        final QuotaDecision decision = limited.admit("acme", request);
        decision.admission().settle(16, true);
        return decision;
    }

    @Benchmark
    public QuotaDecision admitAndSettleWithoutLimits() {
        final QuotaDecision decision = unlimited.admit("acme", request);
        decision.admission().settle(16, true);
        return decision;
    }
}
