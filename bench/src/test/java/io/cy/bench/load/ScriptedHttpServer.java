package io.cy.bench.load;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny HTTP/1.1 server on 127.0.0.1 for the client's tests: it reads each request (its head and
 * a Content-Length body) and lets the test's script answer with whatever bytes it likes, or close.
 * Real sockets, one thread per connection, at most {@value #MAX_CONNECTIONS} connections.
 */
final class ScriptedHttpServer implements AutoCloseable {

    static final int MAX_CONNECTIONS = 64;
    private static final int MAX_HEAD_BYTES = 16 << 10;
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Answers one request; runs on the connection's thread. */
    interface Script {
        void answer(Request request, Peer peer) throws IOException;
    }

    /** @param headers by lower-case name */
    record Request(String method, String target, Map<String, String> headers) {}

    /** One accepted connection, as the server sees it. */
    static final class Peer {

        private final int index;
        private final Socket socket;
        private final OutputStream out;
        private final CountDownLatch closedByClient = new CountDownLatch(1);
        private final AtomicInteger requests = new AtomicInteger();

        private Peer(int index, Socket socket) throws IOException {
            this.index = index;
            this.socket = socket;
            this.out = socket.getOutputStream();
        }

        /** Which connection this is, from 0 in the order accepted. */
        int index() {
            return index;
        }

        int requests() {
            return requests.get();
        }

        void write(String bytes) throws IOException {
            out.write(bytes.getBytes(UTF_8));
            out.flush();
        }

        /** A whole answer, its length given. */
        void answer(int status, String contentType, String body, String... headers) throws IOException {
            final StringBuilder head = new StringBuilder("HTTP/1.1 " + status + " Scripted\r\n");
            if (contentType != null) {
                head.append("Content-Type: ").append(contentType).append("\r\n");
            }
            for (String header : headers) {
                head.append(header).append("\r\n");
            }
            head.append("Content-Length: ").append(body.getBytes(UTF_8).length).append("\r\n\r\n");
            write(head + body);
        }

        /** The head of a chunked answer; the body follows in {@link #chunk}s. */
        void chunkedHead(int status, String contentType) throws IOException {
            write("HTTP/1.1 " + status + " Scripted\r\nContent-Type: " + contentType + "\r\nTransfer-Encoding: chunked\r\n\r\n");
        }

        void chunk(String text) throws IOException {
            final byte[] bytes = text.getBytes(UTF_8);
            write(Integer.toHexString(bytes.length) + "\r\n" + text + "\r\n");
        }

        void lastChunk() throws IOException {
            write("0\r\n\r\n");
        }

        void close() throws IOException {
            socket.close();
        }

        /** Whether the client closed its end (the server read the end of the stream) within the wait. */
        boolean awaitClosedByClient() throws InterruptedException {
            return closedByClient.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private final ServerSocket server;
    private final Script script;
    private final List<CompletableFuture<Peer>> peers = new ArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    private ScriptedHttpServer(ServerSocket server, Script script) {
        this.server = server;
        this.script = script;
        for (int i = 0; i < MAX_CONNECTIONS; i++) {
            peers.add(new CompletableFuture<>());
        }
    }

    static ScriptedHttpServer start(Script script) throws IOException {
        final ScriptedHttpServer s = new ScriptedHttpServer(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()),
                script);
        daemon("scripted-http-accept", s::acceptLoop).start();
        return s;
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** Connections accepted so far. */
    int accepted() {
        return accepted.get();
    }

    /** Connection {@code index}, once accepted (waits for it). */
    Peer peer(int index) throws Exception {
        return peers.get(index).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops accepting: later connects are refused; the connections open stay. */
    void stopListening() throws IOException {
        server.close();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (CompletableFuture<Peer> peer : peers) {
            if (peer.isDone()) {
                peer.join().close();
            }
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                final Socket socket = server.accept();
                final int index = accepted.getAndIncrement();
                if (index >= MAX_CONNECTIONS) {
                    socket.close();
                    continue;
                }
                final Peer peer = new Peer(index, socket);
                peers.get(index).complete(peer);
                daemon("scripted-http-" + index, () -> serve(peer)).start();
            }
        } catch (IOException e) {
            // Closed: no more connections.
        }
    }

    private void serve(Peer peer) {
        try (Socket socket = peer.socket) {
            final InputStream in = new BufferedInputStream(socket.getInputStream());
            while (true) {
                final Request request = readRequest(in);
                if (request == null) {
                    peer.closedByClient.countDown();
                    return;
                }
                peer.requests.incrementAndGet();
                script.answer(request, peer);
            }
        } catch (IOException e) {
            if (!peer.socket.isClosed()) {
                // Not the script's close: the client reset the connection, which closes it too.
                peer.closedByClient.countDown();
            }
        }
    }

    /** The next request, its body read and dropped; null at the end of the stream. */
    private static Request readRequest(InputStream in) throws IOException {
        final ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            final int b = in.read();
            if (b < 0) {
                if (head.size() == 0) {
                    return null;
                }
                throw new IOException("the stream ended inside a request head");
            }
            head.write(b);
            if (head.size() > MAX_HEAD_BYTES) {
                throw new IOException("a request head over " + MAX_HEAD_BYTES + " bytes");
            }
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        final String[] lines = head.toString(US_ASCII).split("\r\n");
        final String[] requestLine = lines[0].split(" ");
        final Map<String, String> headers = new HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            final int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).trim());
            }
        }
        in.skipNBytes(Long.parseLong(headers.getOrDefault("content-length", "0")));
        return new Request(requestLine[0], requestLine[1], headers);
    }

    private static Thread daemon(String name, Runnable task) {
        final Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }
}
