package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} of a test's own on a free port, which the test can stall (SIGSTOP: the
 * connections stay open and nothing is answered) and let go on again.
 */
final class RedisServerProcess implements AutoCloseable {

    private final Process process;
    private final int port;

    private RedisServerProcess(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** Starts one and returns once it accepts connections. */
    static RedisServerProcess start() throws Exception {
        return start(freePort());
    }

    /** A port nothing listens on now, for a server started later. */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Starts one on {@code port} and returns once it accepts connections. */
    static RedisServerProcess start(int port) throws Exception {
        final Process process = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind",
                "127.0.0.1", "--save", "", "--appendonly", "no").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        final RedisServerProcess redis = new RedisServerProcess(process, port);
        try {
            redis.awaitListening();
        } catch (Exception | AssertionError e) {
            process.destroyForcibly();
            throw e;
        }
        return redis;
    }

    int port() {
        return port;
    }

    String url() {
        return "redis://127.0.0.1:" + port + "/0";
    }

    void stall() throws Exception {
        signal("STOP");
    }

    void resume() throws Exception {
        signal("CONT");
    }

    @Override
    public void close() throws Exception {
        resume();
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    private void signal(String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start()
                .waitFor()).isZero();
    }

    private void awaitListening() throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                assertThat(System.nanoTime()).as("redis-server not listening within 10s").isLessThan(deadline);
                Thread.sleep(20); // polling a port with a deadline
            }
        }
    }
}
