package io.cy.coordinator.webhook;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs the usage of every call a sidecar served to {@code usage_webhook.url}.
 *
 * <p>The call path only offers a record to a bounded queue ({@code usage_webhook.queue_capacity}):
 * when it is full the record is dropped and counted, so a slow or absent receiver never delays a
 * call. One thread of its own takes records in batches and sends them with the JDK's
 * {@link HttpClient} (on a small executor of its own, not the common pool). Connection failures,
 * timeouts and 5xx answers are retried with exponential backoff up to
 * {@code usage_webhook.max_retries} times; a 4xx answer is not (the same body would be refused
 * again). On shutdown what is queued is sent until the grace period is over; the rest is dropped.
 */
public final class UsageWebhook implements CallEndListener, AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(UsageWebhook.class);
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long IDLE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long CLOSE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final CoordinatorConfig.UsageWebhook config;
    private final DeliveryCounters counters;
    private final ArrayBlockingQueue<UsageRecord> queue;
    private final ThreadPoolExecutor httpExecutor;
    private final HttpClient client;
    private final WebhookSignature signature;
    private final Thread sender;
    private final Object backoffLock = new Object();
    private volatile boolean closing;
    private volatile long flushDeadlineNanos;

    private UsageWebhook(CoordinatorConfig.UsageWebhook config, DeliveryCounters counters) {
        this.config = config;
        this.counters = counters;
        this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
        // The client's own tasks (connection setup, response bodies): few, so two threads and a short queue.
        this.httpExecutor = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
                runnable -> daemon(runnable, "cy-webhook-http"), new ThreadPoolExecutor.CallerRunsPolicy());
        httpExecutor.allowCoreThreadTimeOut(true);
        this.client = HttpClient.newBuilder().executor(httpExecutor).connectTimeout(config.timeout()).build();
        this.signature = config.secret().isEmpty() ? null : new WebhookSignature(config.secret());
        this.sender = daemon(this::run, "cy-webhook");
    }

    /** Starts the sending thread. */
    public static UsageWebhook start(CoordinatorConfig.UsageWebhook config, DeliveryCounters counters) {
        final UsageWebhook webhook = new UsageWebhook(requireNonNull(config, "config"),
                requireNonNull(counters, "counters"));
        webhook.sender.start();
        logger.info("usage webhook: {}", config);
        return webhook;
    }

    @Override
    public void onCallEnd(CallSummary summary) {
        final UsageRecord record = UsageRecord.of(summary);
        if (record == null) {
            return;
        }
        if (closing || !queue.offer(record)) {
            counters.failed("dropped", 1);
        }
    }

    private void run() {
        try {
            while (true) {
                final List<UsageRecord> batch = nextBatch();
                if (batch.isEmpty()) {
                    if (closing) {
                        return;
                    }
                    continue;
                }
                if (closing && System.nanoTime() - flushDeadlineNanos > 0) {
                    counters.failed("dropped", batch.size());
                    continue;
                }
                deliver(batch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            logger.error("usage webhook: the sending thread failed; usage records are dropped from now on", e);
        }
    }

    /** Up to batch_size records: the first one waited for, the others for batch_interval after it at most. */
    private List<UsageRecord> nextBatch() throws InterruptedException {
        final List<UsageRecord> batch = new ArrayList<>(Math.min(config.batchSize(), 256));
        final UsageRecord first = queue.poll(IDLE_POLL_NANOS, TimeUnit.NANOSECONDS);
        if (first == null) {
            return batch;
        }
        batch.add(first);
        final long deadline = System.nanoTime() + config.batchInterval().toNanos();
        while (batch.size() < config.batchSize()) {
            final UsageRecord next = pollUntil(deadline);
            if (next == null) {
                break;
            }
            batch.add(next);
        }
        return batch;
    }

    /**
     * The next record, waiting until {@code deadline} at most; in short slices, so that shutdown
     * sends a partial batch at once instead of after batch_interval.
     */
    private UsageRecord pollUntil(long deadline) throws InterruptedException {
        while (true) {
            final long left = deadline - System.nanoTime();
            if (closing || left <= 0) {
                return queue.poll();
            }
            final UsageRecord next = queue.poll(Math.min(left, CLOSE_CHECK_NANOS), TimeUnit.NANOSECONDS);
            if (next != null) {
                return next;
            }
        }
    }

    private void deliver(List<UsageRecord> batch) throws InterruptedException {
        final byte[] body = UsageJson.body(batch, config.batchSize() > 1);
        final HttpRequest.Builder request = HttpRequest.newBuilder(config.url())
                .timeout(config.timeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (signature != null) {
            request.header(WebhookSignature.HEADER, signature.sign(body));
        }
        final HttpRequest built = request.build();
        for (int attempt = 0; ; attempt++) {
            final String failure = post(built);
            if (failure == null) {
                counters.delivered();
                return;
            }
            counters.failed(failure, 1);
            if (failure.equals("http_4xx")) {
                logger.warn("usage webhook: {} records refused with a 4xx answer; not retried", batch.size());
                return;
            }
            if (attempt >= config.maxRetries() || !backoff(attempt)) {
                counters.failed("dropped", batch.size());
                logger.warn("usage webhook: {} records dropped after {} attempts (last: {})", batch.size(),
                        attempt + 1, failure);
                return;
            }
        }
    }

    /** Null when the receiver answered 2xx, else the failure's reason. */
    private String post(HttpRequest request) throws InterruptedException {
        try {
            final int code = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            if (code >= 200 && code < 300) {
                return null;
            }
            // A redirect is not followed: like a 4xx, sending the same request again would not help.
            return code >= 500 ? "http_5xx" : "http_4xx";
        } catch (HttpConnectTimeoutException | ConnectException e) {
            return "connect";
        } catch (HttpTimeoutException e) {
            return "timeout";
        } catch (IOException e) {
            // Reset or closed before an answer: the connection, not the receiver's verdict.
            return "connect";
        }
    }

    /** Waits before retry {@code attempt + 1}; false when shutdown leaves no time for it. */
    private boolean backoff(int attempt) throws InterruptedException {
        final long wait = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << Math.min(attempt, 20));
        final long until = System.nanoTime() + wait;
        synchronized (backoffLock) {
            while (true) {
                final long now = System.nanoTime();
                if (closing && until - flushDeadlineNanos > 0) {
                    return false;
                }
                if (until - now <= 0) {
                    return true;
                }
                TimeUnit.NANOSECONDS.timedWait(backoffLock, until - now);
            }
        }
    }

    /** Records waiting to be sent. */
    public int queued() {
        return queue.size();
    }

    /** Sends what is queued for at most {@code grace}, then drops the rest. New records are dropped. */
    public void close(Duration grace) {
        flushDeadlineNanos = System.nanoTime() + grace.toNanos();
        closing = true;
        synchronized (backoffLock) {
            backoffLock.notifyAll();
        }
        try {
            // A request in flight at the deadline may take its timeout to finish.
            sender.join(Math.max(1, grace.plus(config.timeout()).toMillis()));
            if (sender.isAlive()) {
                sender.interrupt();
                sender.join(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        final int left = queue.size();
        queue.clear();
        if (left > 0) {
            counters.failed("dropped", left);
            logger.warn("usage webhook: {} records dropped at shutdown", left);
        }
        httpExecutor.shutdownNow();
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }

    private static Thread daemon(Runnable runnable, String name) {
        final Thread thread = new Thread(runnable, name);
        thread.setDaemon(true);
        return thread;
    }
}
