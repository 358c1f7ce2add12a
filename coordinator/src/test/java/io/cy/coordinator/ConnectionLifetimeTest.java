package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.RawHttp2Client.GoAway;
import io.cy.coordinator.RawHttp2Client.Response;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.netty.handler.codec.http2.Http2Error;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code server.max_connection_age}, {@code max_connection_age_grace} and
 * {@code max_connection_idle} with grpc-java's meaning: past its age a connection gets the
 * two-step GOAWAY, its calls finish within the grace, and a grpc-java client carries on over a new
 * connection; a connection without a stream for the idle limit is sent away, a busy one is not.
 */
class ConnectionLifetimeTest {

    /** A request starting with this byte is held open until the test answers it. */
    private static final byte HOLD = 1;

    private final NettyTransport transport = NettyTransport.create(1, "lifetime-test");
    /** Where each call came from. */
    private final Set<SocketAddress> peers = ConcurrentHashMap.newKeySet();
    /** Calls held open, in the order they arrived. */
    private final BlockingQueue<ServerCall<byte[], byte[]>> held = new LinkedBlockingQueue<>();
    private final CompletableFuture<Void> heldCallCancelled = new CompletableFuture<>();
    private GrpcFrontServer server;
    private ManagedChannel channel;
    private RawHttp2Client raw;

    @AfterEach
    void close() throws InterruptedException {
        if (raw != null) {
            raw.close();
        }
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        transport.close();
    }

    @Test
    void pastItsAgeAConnectionGetsTwoGoAwaysAndItsCallFinishesWithinTheGrace() throws Exception {
        start(Duration.ofMillis(300), Duration.ofSeconds(20), null);
        final long connected = System.nanoTime();
        raw = new RawHttp2Client(ByteService.address(server));
        final int stream = raw.open(RawHttp2Client.grpcRequest(ByteService.PATH), false);
        raw.data(stream, RawHttp2Client.framed(new byte[] {HOLD}), true);
        final ServerCall<byte[], byte[]> call = held.poll(10, TimeUnit.SECONDS);
        assertThat(call).as("the call reached the service").isNotNull();

        final GoAway first = raw.nextGoAway();
        final long firstAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);
        final GoAway second = raw.nextGoAway();

        assertThat(firstAfterMillis).as("max age less 10%% jitter").isGreaterThanOrEqualTo(270);
        assertThat(first.lastStreamId()).isEqualTo(Integer.MAX_VALUE);
        assertThat(first.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
        assertThat(first.debugData()).isEqualTo("max_age");
        assertThat(second.lastStreamId()).isEqualTo(stream);
        assertThat(second.debugData()).isEqualTo("max_age");
        assertThat(raw.isClosed()).as("open while its call goes on").isFalse();

        answer(call);
        final Response response = raw.response(stream);
        assertThat(response.grpcStatus()).as("%s", response).isZero();
        assertThat(raw.awaitClosed()).as("closed once its call is over").isTrue();
    }

    @Test
    void aCallStillOpenWhenTheGraceRunsOutIsCutOff() throws Exception {
        start(Duration.ofMillis(200), Duration.ofMillis(300), null);
        raw = new RawHttp2Client(ByteService.address(server));
        final int stream = raw.open(RawHttp2Client.grpcRequest(ByteService.PATH), false);
        raw.data(stream, RawHttp2Client.framed(new byte[] {HOLD}), true);
        assertThat(held.poll(10, TimeUnit.SECONDS)).as("the call reached the service").isNotNull();

        assertThat(raw.nextGoAway().lastStreamId()).isEqualTo(Integer.MAX_VALUE);
        assertThat(raw.nextGoAway().lastStreamId()).isEqualTo(stream);
        assertThat(raw.awaitClosed()).as("closed when the grace ran out").isTrue();
        heldCallCancelled.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aGrpcJavaClientMovesToANewConnectionAndItsCallInFlightSucceeds() throws Exception {
        start(Duration.ofMillis(300), Duration.ofSeconds(20), null);
        channel = NettyChannelBuilder.forAddress(ByteService.address(server)).usePlaintext().build();
        final CompletableFuture<Status> inFlight = new CompletableFuture<>();
        final ClientCall<byte[], byte[]> longCall = channel.newCall(ByteService.METHOD, CallOptions.DEFAULT);
        longCall.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                inFlight.complete(status);
            }
        }, new Metadata());
        longCall.request(1);
        longCall.sendMessage(new byte[] {HOLD});
        longCall.halfClose();
        final ServerCall<byte[], byte[]> call = held.poll(10, TimeUnit.SECONDS);
        assertThat(call).isNotNull();

        // Calls go on until one arrives over a second connection, which only max age can bring about.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (peers.size() < 2 && System.nanoTime() < deadline) {
            final byte[] answer = ClientCalls.blockingUnaryCall(channel, ByteService.METHOD.toBuilder()
                            .setType(io.grpc.MethodDescriptor.MethodType.UNARY).build(),
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {0});
            assertThat(answer).containsExactly(0);
        }
        assertThat(peers).as("calls over a new connection").hasSize(2);

        answer(call);
        assertThat(inFlight.get(10, TimeUnit.SECONDS).isOk()).as("%s", inFlight.getNow(null)).isTrue();
    }

    @Test
    void anIdleConnectionIsSentAwayAndABusyOneIsNot() throws Exception {
        start(null, null, Duration.ofMillis(300));
        raw = new RawHttp2Client(ByteService.address(server));
        final RawHttp2Client busy = new RawHttp2Client(ByteService.address(server));
        final long busyConnected = System.nanoTime();
        try {
            final int stream = busy.open(RawHttp2Client.grpcRequest(ByteService.PATH), false);
            busy.data(stream, RawHttp2Client.framed(new byte[] {HOLD}), true);
            final ServerCall<byte[], byte[]> call = held.poll(10, TimeUnit.SECONDS);
            assertThat(call).isNotNull();

            final GoAway idleGoAway = raw.nextGoAway();
            assertThat(idleGoAway.lastStreamId()).isEqualTo(Integer.MAX_VALUE);
            assertThat(idleGoAway.debugData()).isEqualTo("max_idle");
            assertThat(raw.nextGoAway().lastStreamId()).isZero();
            assertThat(raw.awaitClosed()).as("the idle connection closed").isTrue();
            // Nothing to wait for but time: twice the idle limit with a stream open, and no GOAWAY.
            final long left = TimeUnit.NANOSECONDS.toMillis(busyConnected + TimeUnit.MILLISECONDS.toNanos(600)
                    - System.nanoTime());
            if (left > 0) {
                Thread.sleep(left);
            }
            assertThat(busy.goAwayReceived()).as("a GOAWAY on the busy connection").isFalse();

            answer(call);
            assertThat(busy.response(stream).grpcStatus()).isZero();
            assertThat(busy.nextGoAway().debugData()).as("idle once its call ended").isEqualTo("max_idle");
            assertThat(busy.awaitClosed()).isTrue();
        } finally {
            busy.close();
        }
    }

    private static void answer(ServerCall<byte[], byte[]> call) {
        call.sendMessage(new byte[] {HOLD});
        call.close(Status.OK, new Metadata());
    }

    /** A service that answers at once, or holds a request starting with {@link #HOLD} until the test answers. */
    private void start(Duration maxAge, Duration maxAgeGrace, Duration maxIdle) throws Exception {
        final ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
            peers.add(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    call.sendHeaders(new Metadata());
                    if (message.length > 0 && message[0] == HOLD) {
                        held.add(call);
                        return;
                    }
                    call.sendMessage(message);
                    call.close(Status.OK, new Metadata());
                }

                @Override
                public void onCancel() {
                    heldCallCancelled.complete(null);
                }
            };
        };
        server = ByteService.start(transport, handler, ByteService.settings(maxAge, maxAgeGrace, maxIdle));
    }
}
