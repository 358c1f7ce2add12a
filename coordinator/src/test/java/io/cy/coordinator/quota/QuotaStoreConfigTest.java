package io.cy.coordinator.quota;

import static io.cy.coordinator.quota.QuotaConfigTest.load;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.CoordinatorConfig.QuotaStoreSettings;
import io.cy.coordinator.redis.RedisUrls;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code quota.store} and {@code quota.redis.*}: defaults, the environment, errors naming the key. */
class QuotaStoreConfigTest {

    @Test
    void byDefaultUsageIsLocalWithTheDocumentedRedisSettings() {
        final QuotaStoreSettings store = load("").store();

        assertThat(store.redis()).isFalse();
        assertThat(store.redisUrl()).isEqualTo("redis://127.0.0.1:6379/0");
        assertThat(store.lease()).isEqualTo(Duration.ofSeconds(10));
        assertThat(store.rejectWhenUnavailable()).isFalse();
        assertThat(store.replicasHint()).isEqualTo(1);
        assertThat(store.timeout()).isEqualTo(Duration.ofMillis(50));
    }

    @Test
    void theEnvironmentSetsEveryKey() {
        final QuotaStoreSettings store = load("", Map.of(
                "CY_QUOTA_STORE", "redis",
                "CY_QUOTA_REDIS_URL", "rediss://:secret@redis.example:6380/2",
                "CY_QUOTA_REDIS_LEASE", "5s",
                "CY_QUOTA_REDIS_ON_UNAVAILABLE", "reject",
                "CY_QUOTA_REDIS_REPLICAS_HINT", "3",
                "CY_QUOTA_REDIS_TIMEOUT", "20ms")).store();

        assertThat(store).isEqualTo(new QuotaStoreSettings(true, "rediss://:secret@redis.example:6380/2",
                Duration.ofSeconds(5), true, 3, Duration.ofMillis(20)));
        assertThat(store.toString()).contains("redis.example:6380").doesNotContain("secret");
    }

    @Test
    void invalidValuesStopStartupNamingTheKey() {
        assertThatThrownBy(() -> load("quota: {store: memcached}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("quota.store").hasMessageContaining("'memcached' (expected: local or redis)");
        assertThatThrownBy(() -> load("quota: {redis: {on_unavailable: wait}}"))
                .hasMessageContaining("quota.redis.on_unavailable").hasMessageContaining("(expected: local or reject)");
        assertThatThrownBy(() -> load("quota: {redis: {replicas_hint: 0}}"))
                .hasMessageContaining("quota.redis.replicas_hint");
        assertThatThrownBy(() -> load("quota: {redis: {lease: 100ms}}"))
                .hasMessageContaining("quota.redis.lease").hasMessageContaining(">= 1000ms");
        assertThatThrownBy(() -> load("quota: {redis: {timeout: soon}}"))
                .hasMessageContaining("quota.redis.timeout");
    }

    @Test
    void aBadUrlIsNamedButItsPasswordIsNotShown() {
        assertThatThrownBy(() -> load("quota: {store: redis, redis: {url: 'http://:hunter2@cache:6379'}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("quota.redis.url: not a Redis URL")
                .hasMessageNotContaining("hunter2");
        // Only checked when used.
        assertThat(load("quota: {redis: {url: 'http://cache'}}").store().redis()).isFalse();
    }

    @Test
    void urlsCoverStandaloneTlsSentinelAndClusterSeeds() {
        assertThat(RedisUrls.parse("redis://127.0.0.1:6379/0")).singleElement()
                .satisfies(uri -> assertThat(uri.getPort()).isEqualTo(6379));
        assertThat(RedisUrls.parse("rediss://:pw@cache:6380/1")).singleElement()
                .satisfies(uri -> assertThat(uri.isSsl()).isTrue());
        assertThat(RedisUrls.parse("redis-sentinel://s1:26379,s2:26379/0#mymaster")).singleElement()
                .satisfies(uri -> assertThat(uri.getSentinels()).hasSize(2));
        assertThat(RedisUrls.parse("redis://:pw@n1:7000,n2:7001/0"))
                .extracting(uri -> uri.getHost() + ":" + uri.getPort()).containsExactly("n1:7000", "n2:7001");
        assertThat(RedisUrls.describe(RedisUrls.parse("redis://:pw@n1:7000,n2:7001"))).isEqualTo("n1:7000,n2:7001");
    }
}
