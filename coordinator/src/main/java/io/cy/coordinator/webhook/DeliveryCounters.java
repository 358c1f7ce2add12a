package io.cy.coordinator.webhook;

/** Where the webhook counts what it delivered and what failed. */
public interface DeliveryCounters {

    /** One request was answered 2xx. */
    void delivered();

    /**
     * An attempt failed ({@code connect}, {@code timeout}, {@code http_5xx}, {@code http_4xx}), or
     * records were given up ({@code dropped}: the queue was full, or the retries were used up).
     *
     * @param count 1 for a failed attempt; the number of records for {@code dropped}
     */
    void failed(String reason, long count);
}
