package io.cy.coordinator;

import static io.cy.coordinator.RawFrameSocket.CONTINUATION;
import static io.cy.coordinator.RawFrameSocket.DATA;
import static io.cy.coordinator.RawFrameSocket.END_HEADERS;
import static io.cy.coordinator.RawFrameSocket.ENHANCE_YOUR_CALM;
import static io.cy.coordinator.RawFrameSocket.HEADERS;
import static io.cy.coordinator.RawFrameSocket.PING;
import static io.cy.coordinator.RawFrameSocket.SETTINGS;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.RawFrameSocket.GoAway;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Abuse of the gRPC listener over raw HTTP/2 on a real TCP socket, each attack bounded in frames
 * and in time: the connection is cut (or its streams held) within a stated number of frames, the
 * coordinator's buffers grow by less than a stated bound, and a second client's Health calls are
 * answered throughout.
 *
 * <p>Memory is measured in this JVM, which hosts the coordinator: the bytes Netty's default
 * allocator (the one its channels use) holds, direct and heap, which is where frames waiting to be
 * written live; and, for the record, the process's RSS, which the test JVM's garbage makes too
 * noisy to bound tightly.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HttpFloodTest {

    private static final String STREAM_PREDICT = "/cy.llm.AiInference/StreamPredict";
    // The keepalive enforcer would cut a ping flood after three pings (FrontServerTest covers it);
    // with any ping rate permitted, only the cap on queued control frames is left to stop one.
    private static final String YAML = "server: {permit_keepalive_time: 0s}";
    /** Small, so that a client that never reads stops taking the server's bytes soon. */
    private static final int RECEIVE_BUFFER_BYTES = 4096;
    /**
     * Answers queued in the coordinator before it cuts a client that never reads (Netty's default,
     * the default of {@code server.max_queued_control_frames}).
     */
    private static final int MAX_QUEUED_CONTROL_FRAMES = 10_000;
    private static final int FLOOD_BATCH = 1000;
    private static final long MAX_ALLOCATOR_GROWTH_BYTES = 32L << 20;
    private static final long MAX_RSS_GROWTH_BYTES = 256L << 20;

    @TempDir
    static Path dir;

    private static TestStack stack;
    private static InetSocketAddress listener;
    private HealthWatch health;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim")), YAML, Map.of());
        listener = new InetSocketAddress("127.0.0.1", stack.coordinator.grpcEndpoint().port());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @BeforeEach
    void watchHealth() throws Exception {
        health = new HealthWatch(stack.coordinatorChannel());
        health.awaitAnswers(1);
    }

    @AfterEach
    void healthWasAnsweredThroughout() throws Exception {
        final long before = health.answers();
        health.awaitAnswers(before + 1);
        health.close();
        assertThat(health.failures()).as("health calls failed or took over 2 s").isEmpty();
    }

    @Test
    void settingsFloodFromAClientThatNeverReadsIsCut() throws Exception {
        final long bound = framesBeforeCut(9, 9);
        final long sent = floodWithoutReading(SETTINGS, new byte[0], bound);
        System.out.printf("SETTINGS flood: cut after %d frames (bound %d)%n", sent, bound);

        assertThat(sent).as("SETTINGS frames taken before the connection was cut").isLessThanOrEqualTo(bound);
        health.assertMemoryGrowthBounded();
    }

    @Test
    void pingFloodFromAClientThatNeverReadsIsCut() throws Exception {
        final long bound = framesBeforeCut(17, 17);
        final long sent = floodWithoutReading(PING, new byte[8], bound);
        System.out.printf("PING flood: cut after %d frames (bound %d)%n", sent, bound);

        assertThat(sent).as("PING frames taken before the connection was cut").isLessThanOrEqualTo(bound);
        health.assertMemoryGrowthBounded();
    }

    /** CVE-2023-44487: each stream a call started and reset at once, 20,000 of them in a burst. */
    @Test
    void rapidResetIsToldToCalmDownAfter200Resets() throws Exception {
        stack.summaries.clear();
        final byte[] request = RawFrameSocket.grpcRequest(STREAM_PREDICT);
        final GoAway goAway;
        try (RawFrameSocket client = new RawFrameSocket(listener, 1 << 16)) {
            final CompletableFuture<GoAway> answer = client.readUntilGoAway();
            try {
                for (int i = 0; i < 20_000; i++) {
                    final int streamId = 2 * i + 1;
                    client.frame(HEADERS, END_HEADERS, streamId, request);
                    client.rstStream(streamId, RawFrameSocket.CANCEL);
                    if (i % 100 == 99) {
                        client.flush();
                    }
                }
                client.flush();
            } catch (IOException cut) {
                // Cut while still sending: what is asserted is the GOAWAY and how many calls started.
            }
            goAway = awaitGoAway(answer);
        }

        assertThat(goAway).as("GOAWAY").isNotNull();
        assertThat(goAway.errorCode()).isEqualTo(ENHANCE_YOUR_CALM);
        // The 201st reset ends the connection.
        final long calls = stack.summaries.stream().filter(s -> s.method().endsWith("StreamPredict")).count();
        System.out.printf("rapid reset: %d calls started%n", calls);
        assertThat(calls).as("calls started (access-log lines)").isBetween(1L, 201L);
        health.assertMemoryGrowthBounded();
    }

    /** Header blocks without end: cut at the header list limit, or after 16 small CONTINUATION frames. */
    @Test
    void continuationFloodIsCut() throws Exception {
        // 1,000-byte fragments: the coordinator takes at most 1.25 times its 16 KiB header list limit.
        assertCutWithin(64, client -> {
            client.frame(HEADERS, 0, 1, RawFrameSocket.grpcRequest(STREAM_PREDICT));
            final byte[] fragment = RawFrameSocket.headerBlock(Map.of("x-padding", "p".repeat(100)));
            final byte[] big = new byte[fragment.length * 8];
            for (int i = 0; i < 8; i++) {
                System.arraycopy(fragment, 0, big, i * fragment.length, fragment.length);
            }
            for (int i = 0; i < 63; i++) {
                client.frame(CONTINUATION, 0, 1, big);
            }
        });
        // Empty fragments: no limit on bytes would ever be reached.
        assertCutWithin(18, client -> {
            client.frame(HEADERS, 0, 1, RawFrameSocket.grpcRequest(STREAM_PREDICT));
            for (int i = 0; i < 17; i++) {
                client.frame(CONTINUATION, 0, 1, new byte[0]);
            }
        });
        health.assertMemoryGrowthBounded();
    }

    @Test
    void emptyDataFloodIsCutAtTheThirdFrame() throws Exception {
        assertCutWithin(4, client -> {
            client.frame(HEADERS, END_HEADERS, 1, RawFrameSocket.grpcRequest(STREAM_PREDICT));
            for (int i = 0; i < 3; i++) {
                client.frame(DATA, 0, 1, new byte[0]);
            }
        });
    }

    /**
     * Fifty calls streaming tokens to a client that never reads: the coordinator holds the
     * sidecar back (flow control all the way) rather than buffering its tokens, and sends no more
     * than the client's 64 KiB connection window. Keepalive closes such a connection in the end
     * ({@code server.keepalive_time} plus 20 s), too long to wait for here.
     */
    @Test
    void clientThatNeverReadsIsHeldByFlowControl() throws Exception {
        final long pushbacksBefore = stack.sim().stats().pushbacks();
        final byte[] request = RawFrameSocket.grpcRequest(STREAM_PREDICT);
        final byte[] message = RawHttp2Client.framed(TestStack.request(8192,
                Map.of("sim.chunk_bytes", "1024", "sim.gap_ms", "0")));
        try (RawFrameSocket client = new RawFrameSocket(listener, RECEIVE_BUFFER_BYTES)) {
            for (int i = 0; i < 50; i++) {
                final int streamId = 2 * i + 1;
                client.frame(HEADERS, END_HEADERS, streamId, request);
                client.frame(DATA, RawFrameSocket.END_STREAM, streamId, message);
            }
            client.flush();
            Eventually.await("the sidecar held back", TIMEOUT,
                    () -> stack.sim().stats().pushbacks() > pushbacksBefore);
            health.awaitAnswers(health.answers() + 5);
            health.assertMemoryGrowthBounded();

            client.readUntilGoAway();
            Eventually.await("the connection window's bytes read", TIMEOUT, () -> client.dataBytesRead() >= 65_535);
            assertThat(client.dataBytesRead()).as("DATA bytes sent to a client that sent no WINDOW_UPDATE")
                    .isEqualTo(65_535);
        }
    }

    // ---- helpers ----

    @FunctionalInterface
    private interface Frames {
        void write(RawFrameSocket client) throws IOException;
    }

    /** Sends {@code frames}, {@code maxFrames} of them, and expects a GOAWAY with an error. */
    private static void assertCutWithin(int maxFrames, Frames frames) throws Exception {
        try (RawFrameSocket client = new RawFrameSocket(listener, 1 << 16)) {
            final CompletableFuture<GoAway> answer = client.readUntilGoAway();
            try {
                frames.write(client);
                client.flush();
            } catch (IOException cut) {
                // Cut before all of them went out.
            }
            final GoAway goAway = awaitGoAway(answer);
            assertThat(goAway).as("GOAWAY within " + maxFrames + " frames").isNotNull();
            assertThat(goAway.errorCode()).isNotZero();
        }
    }

    /** The server's GOAWAY; null if it closed without one; fails if it did neither in time. */
    private static GoAway awaitGoAway(CompletableFuture<GoAway> answer) throws Exception {
        try {
            return answer.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("neither GOAWAY nor close within " + TIMEOUT.toSeconds() + " s");
        }
    }

    /**
     * How many frames a client that never reads may send before it is cut, when each frame of
     * {@code frameBytes} makes the coordinator write an answer of {@code answerBytes}: the answers
     * the kernel's send buffer holds at its autotuning maximum ({@code tcp_wmem}), plus those
     * queued in the coordinator, plus one batch, plus 4 MiB of our frames in flight (our small
     * send buffer, the coordinator's receive buffer). With a stock kernel's 4 MiB that is about
     * 940,000 SETTINGS frames (9 bytes, answered with 9) or 500,000 PINGs (17, answered with 17);
     * without the cap on queued answers the coordinator took 2 million and more with no end in sight.
     */
    private static long framesBeforeCut(int frameBytes, int answerBytes) throws IOException {
        final long sendBuffer = maxBufferBytes("/proc/sys/net/ipv4/tcp_wmem");
        return sendBuffer / answerBytes + MAX_QUEUED_CONTROL_FRAMES + FLOOD_BATCH + (4L << 20) / frameBytes;
    }

    private static long maxBufferBytes(String sysctl) throws IOException {
        final String[] values = Files.readAllLines(Path.of(sysctl)).get(0).trim().split("\\s+");
        return Long.parseLong(values[2]);
    }

    /**
     * Sends frames of {@code type} without ever reading, until the coordinator cuts the connection
     * or twice {@code bound} went out; returns how many went out.
     */
    private static long floodWithoutReading(int type, byte[] payload, long bound) throws IOException {
        long sent = 0;
        try (RawFrameSocket client = new RawFrameSocket(listener, RECEIVE_BUFFER_BYTES)) {
            while (sent < 2 * bound) {
                for (int i = 0; i < FLOOD_BATCH; i++) {
                    client.frame(type, 0, 0, payload);
                }
                client.flush();
                sent += FLOOD_BATCH;
            }
        } catch (IOException cut) {
            return sent;
        }
        return sent;
    }

    /**
     * A second client calling Health every few milliseconds on a channel of its own, recording
     * failures and answers slower than 2 s, and sampling the coordinator's memory as it goes.
     */
    private static final class HealthWatch implements AutoCloseable {

        private final ManagedChannel channel;
        private final Thread thread;
        private final AtomicLong answers = new AtomicLong();
        private final List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final long allocatorBefore = allocatorBytes();
        private final long rssBefore = rssBytes();
        private final AtomicLong allocatorPeak = new AtomicLong(allocatorBefore);
        private final AtomicLong rssPeak = new AtomicLong(rssBefore);
        private volatile boolean stopped;

        HealthWatch(ManagedChannel channel) {
            this.channel = channel;
            thread = new Thread(this::run, "health-watch");
            thread.setDaemon(true);
            thread.start();
        }

        long answers() {
            return answers.get();
        }

        List<String> failures() {
            return new ArrayList<>(failures);
        }

        void awaitAnswers(long n) throws InterruptedException {
            Eventually.await(n + " health answers", TIMEOUT, () -> answers.get() >= n || !failures.isEmpty());
            assertThat(failures).isEmpty();
        }

        void assertMemoryGrowthBounded() {
            sample();
            final long allocatorGrowth = allocatorPeak.get() - allocatorBefore;
            final long rssGrowth = rssPeak.get() - rssBefore;
            System.out.printf("allocator +%d KiB, RSS +%d KiB%n", allocatorGrowth >> 10, rssGrowth >> 10);
            assertThat(allocatorGrowth).as("Netty allocator growth, bytes").isLessThan(MAX_ALLOCATOR_GROWTH_BYTES);
            assertThat(rssGrowth).as("RSS growth, bytes").isLessThan(MAX_RSS_GROWTH_BYTES);
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            thread.join(TIMEOUT.toMillis());
        }

        private void run() {
            final HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
            while (!stopped) {
                final long start = System.nanoTime();
                try {
                    final ServingStatus status = stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                            .check(HealthCheckRequest.getDefaultInstance()).getStatus();
                    if (status != ServingStatus.SERVING) {
                        failures.add("health: " + status);
                    }
                } catch (RuntimeException e) {
                    failures.add("health after " + (System.nanoTime() - start) / 1_000_000 + " ms: " + e);
                }
                answers.incrementAndGet();
                sample();
                // Pacing, so that the watch does not compete with the flood for the CPU.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }

        private void sample() {
            allocatorPeak.accumulateAndGet(allocatorBytes(), Math::max);
            rssPeak.accumulateAndGet(rssBytes(), Math::max);
        }

        private static long allocatorBytes() {
            final ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
            return metric.usedDirectMemory() + metric.usedHeapMemory();
        }

        private static long rssBytes() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            throw new IllegalStateException("no VmRSS in /proc/self/status");
        }
    }
}
