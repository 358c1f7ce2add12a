package io.cy.bench.load;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One readiness question to an HTTP target on one connection of the pool: null for a 200, else
 * the status and the start of the body. The connection goes back to the pool when the answer is
 * in; if the caller gives up first, the connection is discarded, also when it connects only later,
 * so the pool's count stays that of the connections really in use.
 */
final class HttpReadyCheck implements HttpConnection.Exchange {

    private static final int MAX_BODY_CHARS = 512;

    private final HttpConnections connections;
    private final FullHttpRequest request;
    private final String what;
    private final CompletableFuture<String> answer = new CompletableFuture<>();
    // The caller gives up on its own thread while the connection arrives and answers on its event
    // loop: the lock decides which of them lets the connection go.
    private final Object lock = new Object();
    private HttpConnection connection;
    private boolean abandoned;
    // The connection's event loop only.
    private final StringBuilder body = new StringBuilder();
    private int status;

    /** @param request sent once, on the connection the pool gives; released if it is never sent */
    HttpReadyCheck(HttpConnections connections, FullHttpRequest request) {
        this.connections = connections;
        this.request = request;
        this.what = request.method() + " " + request.uri();
    }

    /**
     * Asks, and waits at most {@code timeout} for the answer.
     *
     * @return null when the target answered 200, else why not
     */
    String ask(Duration timeout) throws InterruptedException {
        connections.acquire(this::connected);
        try {
            return answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return what + ": no answer within " + timeout.toMillis() + " ms";
        } catch (ExecutionException e) {
            // Not thrown: the answer is only ever completed with a value.
            return what + ": " + e.getCause();
        } finally {
            abandon();
        }
    }

    private void connected(HttpConnection c, Throwable failure) {
        if (failure != null) {
            ReferenceCountUtil.release(request);
            answer.complete("cannot connect to " + connections.target() + ": " + failure);
            return;
        }
        final boolean wanted;
        synchronized (lock) {
            wanted = !abandoned;
            if (wanted) {
                connection = c;
            }
        }
        if (!wanted) {
            // A connect that finished after the caller gave up: nobody else would ever let it go.
            ReferenceCountUtil.release(request);
            connections.discard(c);
            return;
        }
        c.send(request, this);
    }

    @Override
    public void onHead(HttpResponse head, long nanos) {
        status = head.status().code();
    }

    @Override
    public void onContent(HttpContent content, long nanos) {
        if (body.length() < MAX_BODY_CHARS) {
            body.append(content.content().toString(StandardCharsets.UTF_8));
        }
        if (content instanceof LastHttpContent) {
            // Back before the caller hears: a run started right after the check finds it idle.
            final HttpConnection done = take();
            if (done != null) {
                connections.release(done);
            }
            answer.complete(status == 200 ? null : what + ": " + status + " " + body.toString().strip());
        }
    }

    @Override
    public void onClosed(Throwable cause, long nanos) {
        take(); // closed: the pool has stopped counting it
        answer.complete(what + ": connection closed" + (cause == null ? "" : ": " + cause));
    }

    private HttpConnection take() {
        synchronized (lock) {
            final HttpConnection c = connection;
            connection = null;
            return c;
        }
    }

    private void abandon() {
        final HttpConnection c;
        synchronized (lock) {
            abandoned = true;
            c = connection;
            connection = null;
        }
        if (c != null) {
            // Its exchange may be under way: it cannot carry another.
            connections.discard(c);
        }
    }
}
