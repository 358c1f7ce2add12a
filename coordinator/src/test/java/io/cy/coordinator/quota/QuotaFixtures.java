package io.cy.coordinator.quota;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Policies, requests and a clock that moves only when told to, for the quota unit tests. */
final class QuotaFixtures {

    /** What {@code limits.max_new_tokens} is by default: reserved by a request leaving max_new_tokens at 0. */
    static final int DEFAULT_MAX_NEW_TOKENS = 8192;

    private QuotaFixtures() {}

    /** A clock for Bucket4j that stands still until {@link #advance}. */
    static final class ManualTime implements TimeMeter {
        private final AtomicLong nanos = new AtomicLong(Duration.ofDays(1).toNanos());

        void advance(Duration d) {
            nanos.addAndGet(d.toNanos());
        }

        @Override
        public long currentTimeNanos() {
            return nanos.get();
        }

        @Override
        public boolean isWallClockBased() {
            return false;
        }
    }

    /** A policy as Control {@code quota_set} or a tenant entry would write it, on top of no limits. */
    static QuotaPolicy policy(Map<String, String> settings) {
        return ConfigLoader.policy(settings, QuotaPolicy.NONE, "test");
    }

    /** Quotas whose default policy is {@code settings}, over {@code store}. */
    static Quotas quotas(QuotaStore store, Map<String, String> settings) {
        return new Quotas(new CoordinatorConfig.Quota(policy(settings), Map.of(), 1000), store, DEFAULT_MAX_NEW_TOKENS);
    }

    /** A request with the prompt "Hi" (0 estimated tokens): it reserves exactly {@code maxNewTokens}. */
    static StreamPredictRequest request(int maxNewTokens) {
        return StreamPredictRequest.newBuilder()
                .setModelId("sim")
                .setPrompt("Hi")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(maxNewTokens))
                .build();
    }

    static long usage(Quotas quotas, String tenant, String key) {
        return Long.parseLong(quotas.describe(tenant).get("usage." + key));
    }

    static long retryAfter(QuotaDecision decision) {
        return Long.parseLong(decision.trailers().get(QuotaDecision.RETRY_AFTER_MS));
    }
}
