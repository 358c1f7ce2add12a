package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.CoordinatorConfig.RoutesStore;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code routes.store}, {@code routes.redis.url} and {@code routes.redis.key_prefix}: defaults, the environment, errors naming the key. */
class RoutesStoreConfigTest {

    private static CoordinatorConfig load(String yaml, Map<String, String> env) {
        final Map<String, String> environment = new HashMap<>(env);
        environment.put("CY_AUTH_MODE", "none");
        return ConfigLoader.fromYaml(yaml, environment).config();
    }

    @Test
    void byDefaultRoutesAreLocal() {
        assertThat(load("", Map.of()).routesStore()).isEqualTo(RoutesStore.LOCAL);
    }

    @Test
    void theRedisUrlDefaultsToTheQuotaOne() {
        final RoutesStore store = load("routes: {store: redis}\nquota: {redis: {url: 'redis://q.example:6379/1'}}",
                Map.of()).routesStore();

        assertThat(store).isEqualTo(new RoutesStore(true, "redis://q.example:6379/1", "cy:routes:"));
    }

    @Test
    void theEnvironmentSetsBothKeysAndThePasswordIsNotShown() {
        final CoordinatorConfig config = load("", Map.of("CY_ROUTES_STORE", "redis",
                "CY_ROUTES_REDIS_URL", "redis://:secret@r.example:6380/2"));

        assertThat(config.routesStore()).isEqualTo(new RoutesStore(true, "redis://:secret@r.example:6380/2", "cy:routes:"));
        assertThat(config.routesStore().toString()).contains("r.example:6380").doesNotContain("secret");
        // Where the table lives is not part of a routes version.
        assertThat(config.routes().aliases()).containsOnlyKeys("default");
    }

    @Test
    void invalidValuesStopStartupNamingTheKey() {
        assertThatThrownBy(() -> load("routes: {store: etcd}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes.store").hasMessageContaining("'etcd' (expected: local or redis)");
        assertThatThrownBy(() -> load("routes: {store: redis}\nquota: {redis: {url: ''}}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes.redis.url").hasMessageContaining("missing");
        assertThatThrownBy(() -> load("routes: {store: redis, redis: {url: 'http://:pw@x'}}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes.redis.url").hasMessageNotContaining("pw");
    }

    @Test
    void theKeyPrefixIsSetInTheFileOrTheEnvironmentAndCheckedNamingTheKey() {
        assertThat(load("routes: {store: redis, redis: {url: 'redis://r:6379/0', key_prefix: 'staging:routes:'}}",
                Map.of()).routesStore().keyPrefix()).isEqualTo("staging:routes:");
        assertThat(load("routes: {store: redis, redis: {url: 'redis://r:6379/0'}}",
                Map.of("CY_ROUTES_REDIS_KEY_PREFIX", "eu:")).routesStore().keyPrefix()).isEqualTo("eu:");
        assertThatThrownBy(() -> load("routes: {store: redis, redis: {url: 'redis://r:6379/0', key_prefix: 'a b'}}",
                Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes.redis.key_prefix")
                .hasMessageContaining("'a b' (expected: 1 to 128 printable ASCII characters without spaces)");
    }
}
