package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pool against a scripted server on a real socket: reuse, its cap, and the closes it must notice. */
class HttpConnectionsTest {

    private static final long WAIT_S = 10;

    private final ScriptedPool pool = new ScriptedPool(1, "test-pool");

    @AfterEach
    void stop() throws Exception {
        pool.close();
    }

    private void start(ScriptedHttpServer.Script script, int max) throws Exception {
        pool.open(script, max);
    }

    private HttpConnection acquire() throws Exception {
        return acquireLater().get(WAIT_S, TimeUnit.SECONDS);
    }

    private CompletableFuture<HttpConnection> acquireLater() {
        final CompletableFuture<HttpConnection> connection = new CompletableFuture<>();
        pool.connections().acquire((c, failure) -> {
            if (failure != null) {
                connection.completeExceptionally(failure);
            } else {
                connection.complete(c);
            }
        });
        return connection;
    }

    /** One GET on {@code c}: the status and body, or how the connection closed. */
    private static String exchange(HttpConnection c) throws Exception {
        final Recording recording = new Recording();
        final FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x");
        request.headers().set(HttpHeaderNames.HOST, "127.0.0.1").setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        c.send(request, recording);
        return recording.end.get(WAIT_S, TimeUnit.SECONDS);
    }

    private static void ok(ScriptedHttpServer.Peer peer, String... headers) throws IOException {
        peer.answer(200, "text/plain", "conn" + peer.index(), headers);
    }

    /** Runs after the pool's own close listener, which was added when the connection opened. */
    private static CountDownLatch closedLatch(HttpConnection c) {
        final CountDownLatch closed = new CountDownLatch(1);
        c.channel().closeFuture().addListener(f -> closed.countDown());
        return closed;
    }

    @Test
    void aKeptAliveConnectionCarriesTheNextExchange() throws Exception {
        start((request, peer) -> ok(peer), 1);

        final HttpConnection first = acquire();
        assertThat(exchange(first)).isEqualTo("200 conn0");
        pool.connections().release(first);
        final HttpConnection second = acquire();

        assertThat(second).isSameAs(first);
        assertThat(exchange(second)).isEqualTo("200 conn0");
        assertThat(pool.server().accepted()).isEqualTo(1);
    }

    @Test
    void theCapRefusesAConnectionBeyondMaxUntilOneIsGivenBack() throws Exception {
        start((request, peer) -> ok(peer), 2);
        final HttpConnection a = acquire();
        final HttpConnection b = acquire();

        assertThatThrownBy(() -> acquire()).isInstanceOf(ExecutionException.class)
                .hasRootCauseMessage("2 connections in use (expected: at most one per call in progress)");
        assertThat(exchange(a)).isEqualTo("200 conn0");
        pool.connections().release(a);
        assertThat(acquire()).isSameAs(a);
        assertThat(b.isActive()).isTrue();
        assertThat(pool.server().accepted()).isEqualTo(2);
        assertThat(pool.connections().openCount()).isEqualTo(2);
    }

    @Test
    void aConnectionTheServerAsksToCloseIsLetGoAtOnce() throws Exception {
        start((request, peer) -> ok(peer, "Connection: close"), 1);
        final HttpConnection first = acquire();
        assertThat(exchange(first)).isEqualTo("200 conn0");

        pool.connections().release(first);
        // No waiting for the close: the pool of one must have stopped counting it already.
        final HttpConnection second = acquire();

        assertThat(second).isNotSameAs(first);
        assertThat(exchange(second)).isEqualTo("200 conn1");
        // The server left it open: the client honoured the header and closed its end.
        assertThat(pool.server().peer(0).awaitClosedByClient()).isTrue();
        assertThat(pool.server().accepted()).isEqualTo(2);
    }

    @Test
    void aConnectionClosedByTheServerWhileIdleIsReplaced() throws Exception {
        start((request, peer) -> ok(peer), 1);
        final HttpConnection first = acquire();
        assertThat(exchange(first)).isEqualTo("200 conn0");
        pool.connections().release(first);
        final CountDownLatch closed = closedLatch(first);

        pool.server().peer(0).close();

        assertThat(closed.await(WAIT_S, TimeUnit.SECONDS)).isTrue();
        assertThat(pool.connections().openCount()).isZero();
        final HttpConnection second = acquire();
        assertThat(second).isNotSameAs(first);
        assertThat(exchange(second)).isEqualTo("200 conn1");
        assertThat(pool.connections().openCount()).isEqualTo(1);
    }

    @Test
    void aConnectionClosedWhileInUseEndsItsExchangeAndIsUncounted() throws Exception {
        start((request, peer) -> peer.close(), 1);
        final HttpConnection first = acquire();
        final CountDownLatch closed = closedLatch(first);

        assertThat(exchange(first)).isEqualTo("closed");

        assertThat(closed.await(WAIT_S, TimeUnit.SECONDS)).isTrue();
        assertThat(first.reusable()).isFalse();
        assertThat(acquire()).isNotSameAs(first);
    }

    @Test
    void aClosedPoolRefusesAndClosesWhatItHeld() throws Exception {
        start((request, peer) -> ok(peer), 2);
        final HttpConnection c = acquire();
        assertThat(exchange(c)).isEqualTo("200 conn0");
        pool.connections().release(c);

        pool.connections().close();

        assertThat(pool.server().peer(0).awaitClosedByClient()).isTrue();
        assertThatThrownBy(() -> acquire()).isInstanceOf(ExecutionException.class)
                .hasRootCauseMessage("connections closed");
    }

    /** Records one exchange's end. */
    private static final class Recording implements HttpConnection.Exchange {

        final CompletableFuture<String> end = new CompletableFuture<>();
        private final StringBuilder body = new StringBuilder();
        private int status;

        @Override
        public void onHead(HttpResponse head, long nanos) {
            status = head.status().code();
        }

        @Override
        public void onContent(HttpContent content, long nanos) {
            body.append(content.content().toString(StandardCharsets.UTF_8));
            if (content instanceof LastHttpContent) {
                end.complete(status + " " + body);
            }
        }

        @Override
        public void onClosed(Throwable cause, long nanos) {
            end.complete(cause == null ? "closed" : "closed: " + cause);
        }
    }
}
