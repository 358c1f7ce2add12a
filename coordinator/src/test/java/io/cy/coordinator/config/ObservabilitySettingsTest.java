package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code admin.addr}, {@code metrics.max_tenants}, {@code usage_webhook.*} and {@code logging.format}. */
class ObservabilitySettingsTest {

    private static CoordinatorConfig.Observability of(String yaml, Map<String, String> env) {
        return ConfigLoaderTest.yaml(yaml, env).config().observability();
    }

    @Test
    void defaults() {
        final CoordinatorConfig.Observability o = of("", Map.of());
        assertThat(o.adminAddr().toString()).isEqualTo("127.0.0.1:9464");
        assertThat(o.maxTenants()).isEqualTo(100);
        assertThat(o.webhook()).isNull();
        assertThat(o.jsonLogs()).isFalse();
    }

    @Test
    void theAdminListenerIsOffWhenEmptyAndMovesWithItsVariable() {
        assertThat(of("", Map.of("CY_ADMIN_ADDR", "")).adminAddr()).isNull();
        assertThat(of("admin: {addr: \"0.0.0.0:9100\"}", Map.of()).adminAddr().port()).isEqualTo(9100);
        assertThatThrownBy(() -> of("", Map.of("CY_ADMIN_ADDR", "nowhere")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("admin.addr");
    }

    @Test
    void theWebhookTakesItsSettingsAndNeverPrintsItsSecret() {
        final ConfigLoader loader = ConfigLoaderTest.yaml("""
                usage_webhook:
                  url: "https://billing.example.com/usage?token=abc"
                  timeout: 2s
                  max_retries: 5
                  queue_capacity: 50
                  batch_size: 10
                  batch_interval: 250ms
                """, Map.of("CY_USAGE_WEBHOOK_SECRET", "hush-hush"));
        final CoordinatorConfig.UsageWebhook webhook = loader.config().observability().webhook();

        assertThat(webhook.url()).isEqualTo(URI.create("https://billing.example.com/usage?token=abc"));
        assertThat(webhook.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(webhook.maxRetries()).isEqualTo(5);
        assertThat(webhook.queueCapacity()).isEqualTo(50);
        assertThat(webhook.batchSize()).isEqualTo(10);
        assertThat(webhook.batchInterval()).isEqualTo(Duration.ofMillis(250));
        assertThat(webhook.secret()).isEqualTo("hush-hush");
        assertThat(webhook.toString()).doesNotContain("hush-hush").doesNotContain("token=abc");
        assertThat(loader.describe()).doesNotContain("hush-hush");
    }

    @Test
    void aWebhookUrlThatIsNotHttpStopsStartupNamingTheSetting() {
        assertThatThrownBy(() -> of("usage_webhook: {url: \"ftp://example.com/x\"}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("usage_webhook.url: ftp://example.com/x (expected: an http:// or https:// URL)");
        assertThatThrownBy(() -> of("usage_webhook: {url: \"http://h/x\", queue_capacity: 0}", Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("usage_webhook.queue_capacity");
    }

    @Test
    void theLogFormatIsTextOrJson() {
        assertThat(of("", Map.of("CY_LOGGING_FORMAT", "json")).jsonLogs()).isTrue();
        assertThatThrownBy(() -> of("logging: {format: xml}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("logging.format: 'xml' (expected: text or json)");
    }

    @Test
    void theTenantCapIsBounded() {
        assertThat(of("metrics: {max_tenants: 5}", Map.of()).maxTenants()).isEqualTo(5);
        assertThatThrownBy(() -> of("metrics: {max_tenants: -1}", Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.max_tenants");
    }
}
