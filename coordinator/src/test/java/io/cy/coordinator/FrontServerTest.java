package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.RawHttp2Client.Data;
import io.cy.coordinator.RawHttp2Client.GoAway;
import io.cy.coordinator.RawHttp2Client.Headers;
import io.cy.coordinator.RawHttp2Client.Response;
import io.cy.coordinator.RawHttp2Client.StreamFrame;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.StreamObserver;
import io.netty.handler.codec.http2.Http2Error;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's own HTTP/2 front server speaks gRPC as grpc-java's server would: it inflates
 * gzip, refuses what it cannot serve with a status, enforces its limits and keepalive policy,
 * serves the health and reflection services, shuts down with GOAWAY and relays a client's reset.
 */
class FrontServerTest {

    private static final String STREAM_PREDICT = "/cy.llm.AiInference/StreamPredict";
    private static final String YAML = "limits: {max_request_bytes: 4096}\nserver: {permit_keepalive_time: 60s}";
    private static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    private static TestStack stack;

    private final List<RawHttp2Client> clients = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        // A model list, so that the sim rejects an unknown model with a description naming it.
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim")), YAML, Map.of());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @BeforeEach
    void resetStats() {
        stack.sim().stats().reset();
    }

    @AfterEach
    void closeClients() {
        clients.forEach(RawHttp2Client::close);
    }

    @Test
    void gzipCompressedRequestGetsTheFullStream() throws Exception {
        final StreamPredictRequest request = request(8).toBuilder().setPrompt("User: " + "Hello ".repeat(300)).build();
        final CompletableFuture<Status> done = new CompletableFuture<>();
        final List<StreamPredictResponse> responses = Collections.synchronizedList(new ArrayList<>());
        final StreamObserver<StreamPredictRequest> requests = AiInferenceGrpc.newStub(stack.coordinatorChannel())
                .withCompression("gzip")
                .streamPredict(new StreamObserver<>() {
                    @Override
                    public void onNext(StreamPredictResponse value) {
                        responses.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(Status.OK);
                    }
                });
        requests.onNext(request);
        requests.onCompleted();

        final Status status = done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(status.isOk()).as("%s", status).isTrue();
        assertThat(responses).hasSize(9);
        assertThat(responses.get(8).getEndOfStream()).isTrue();
        assertThat(stack.sim().stats().lastRequest().getPrompt()).isEqualTo(request.getPrompt());
    }

    @Test
    void unknownPathIsATrailersOnlyUnimplemented() throws Exception {
        final RawHttp2Client client = connect();

        final Response response = client.response(
                client.open(RawHttp2Client.grpcRequest("/cy.llm.AiInference/Nope"), true));

        assertThat(response.trailersOnly()).as("%s", response).isTrue();
        assertThat(response.last().headers().status()).hasToString("200");
        assertThat(response.last().headers().get("content-type")).hasToString("application/grpc");
        assertThat(response.grpcStatus()).isEqualTo(Status.Code.UNIMPLEMENTED.value());
        assertThat(response.grpcMessage()).contains("/cy.llm.AiInference/Nope");
    }

    @Test
    void wrongMethodIs405AndWrongContentTypeIs415AsGrpcJavaAnswersThem() throws Exception {
        final RawHttp2Client client = connect();

        final Response get = client.response(client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT).method("GET"), true));
        final Response textPlain = client.response(
                client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT).set("content-type", "text/plain"), true));

        assertThat(get.last().headers().status()).hasToString("405");
        assertThat(get.last().headers().get("content-type")).hasToString("text/plain; charset=utf-8");
        assertThat(get.grpcStatus()).isEqualTo(Status.Code.INTERNAL.value());
        assertThat(get.grpcMessage()).contains(":method").contains("GET");
        assertThat(new String(get.data(), StandardCharsets.UTF_8)).isEqualTo(get.grpcMessage());
        assertThat(textPlain.last().headers().status()).hasToString("415");
        assertThat(textPlain.last().headers().get("content-type")).hasToString("text/plain; charset=utf-8");
        assertThat(textPlain.grpcStatus()).isEqualTo(Status.Code.INTERNAL.value());
        assertThat(textPlain.grpcMessage()).contains("content-type").contains("text/plain");
        assertThat(new String(textPlain.data(), StandardCharsets.UTF_8)).isEqualTo(textPlain.grpcMessage());
        assertThat(stack.sim().stats().callsStarted()).isZero();
        assertServesANormalCall();
    }

    @Test
    void responsesAdvertiseGzipAndAreNotCompressedUnlessTheServiceAsks() throws Exception {
        final RawHttp2Client client = connect();

        final int stream = client.open(RawHttp2Client.grpcRequest("/grpc.health.v1.Health/Check")
                .set("grpc-accept-encoding", "gzip"), false);
        client.data(stream, RawHttp2Client.framed(new byte[0]), true);
        final Response response = client.response(stream);

        assertThat(response.grpcStatus()).as("%s", response).isEqualTo(Status.Code.OK.value());
        final Headers headers = response.headerFrames().get(0);
        assertThat(headers.headers().get("grpc-accept-encoding")).hasToString("gzip");
        assertThat(headers.headers().get("grpc-encoding")).isNull();
        assertThat(response.data()[0]).as("the compressed flag").isEqualTo((byte) 0);
    }

    @Test
    void unsupportedEncodingIsUnimplementedAndBadTimeoutIsInternal() throws Exception {
        final RawHttp2Client client = connect();

        final Response snappy = client.response(
                client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT).set("grpc-encoding", "snappy"), true));
        final Response badTimeout = client.response(
                client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT).set("grpc-timeout", "abc"), true));

        assertThat(snappy.grpcStatus()).isEqualTo(Status.Code.UNIMPLEMENTED.value());
        assertThat(snappy.grpcMessage()).contains("grpc-encoding").contains("snappy");
        assertThat(snappy.last().headers().get("grpc-accept-encoding")).hasToString("gzip");
        assertThat(badTimeout.grpcStatus()).isEqualTo(Status.Code.INTERNAL.value());
        assertThat(badTimeout.grpcMessage()).contains("grpc-timeout").contains("abc");
        assertThat(stack.sim().stats().callsStarted()).isZero();
    }

    @Test
    void oversizedRequestIsResourceExhaustedAndTheServerGoesOn() throws Exception {
        final StreamPredictRequest big = request(2).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().putExtra("blob", "b".repeat(8000))).build();

        final Result result = call(stack.coordinatorChannel(), big);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(result.status().getDescription())
                .contains(String.valueOf(big.getSerializedSize())).contains("4096");
        assertThat(stack.sim().stats().callsStarted()).isZero();
        assertServesANormalCall();
    }

    @Test
    void unparsableRequestIsInternalAndTheServerGoesOn() throws Exception {
        final RawHttp2Client client = connect();

        final int stream = client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT), false);
        client.data(stream, RawHttp2Client.framed(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF}), true);
        final Response response = client.response(stream);

        assertThat(response.grpcStatus()).isEqualTo(Status.Code.INTERNAL.value());
        assertThat(response.grpcMessage()).contains("cy.llm.AiInference/StreamPredict");
        assertThat(stack.sim().stats().callsStarted()).isZero();
        assertServesANormalCall();
    }

    @Test
    void pingFloodIsToldToCalmDownAndDisconnected() throws Exception {
        final RawHttp2Client client = connect();

        client.pings(10);

        final GoAway goAway = client.awaitGoAwayOrClose();
        assertThat(goAway).as("a GOAWAY before the connection closed").isNotNull();
        assertThat(goAway.errorCode()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
        assertThat(goAway.debugData()).isEqualTo("too_many_pings");
        assertThat(client.awaitClosed()).isTrue();
    }

    @Test
    void headersCarryTheTraceIdAndTrailersTheSidecarsStatus() throws Exception {
        final Metadata headers = new Metadata();
        headers.put(TRACE_ID, "front-server-trace");

        final Result failed = call(stack.coordinatorChannel(),
                request(10, Map.of("sim.fail", "NOT_FOUND", "sim.fail_after", "2")), headers, null);
        // Outside printable ASCII, and a '%', so that grpc-message must be percent-encoded both ways.
        final String model = "modèle-ü 100% €😀";
        final Result unknownModel = call(stack.coordinatorChannel(), request(2).toBuilder().setModelId(model).build());

        assertThat(failed.headers()).as("response headers").isNotNull();
        assertThat(failed.headers().get(TRACE_ID)).isEqualTo("front-server-trace");
        assertThat(failed.chunks()).hasSize(2);
        assertThat(failed.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(failed.status().getDescription()).isEqualTo("simulated NOT_FOUND after 2 chunks");
        assertThat(unknownModel.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(unknownModel.status().getDescription()).isEqualTo("model not found: " + model);
    }

    @Test
    void healthAndReflectionAreServed() throws Exception {
        final ManagedChannel channel = stack.coordinatorChannel();

        assertThat(AuthCalls.grpcHealth(channel, new Metadata())).isEqualTo(ServingStatus.SERVING);
        assertThat(AuthCalls.reflectedServices(channel, new Metadata()))
                .contains("cy.llm.AiInference", "grpc.health.v1.Health");
    }

    @Test
    void shutdownSendsGoAwayAndClosesIdleConnections(@TempDir Path otherDir) throws Exception {
        try (TestStack own = TestStack.start(otherDir, sim -> { })) {
            final RawHttp2Client busy = connect(own);
            final RawHttp2Client idle = connect(own);
            final int stream = busy.open(RawHttp2Client.grpcRequest(STREAM_PREDICT), false);
            busy.data(stream, RawHttp2Client.framed(request(10, Map.of("sim.gap_ms", "100"))), true);
            assertThat(busy.next(stream)).isInstanceOf(Headers.class);
            assertThat(busy.next(stream)).isInstanceOf(Data.class);

            final CompletableFuture<Void> shutdown =
                    CompletableFuture.runAsync(() -> own.coordinator.shutdown(Duration.ofSeconds(10)));

            // The connection with a call in progress is told to go away in grpc-java's two steps
            // (every stream still allowed; after the PING's answer, the last one taken), and its call goes on.
            final GoAway first = busy.nextGoAway();
            assertThat(first.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(first.lastStreamId()).isEqualTo(Integer.MAX_VALUE);
            final GoAway second = busy.nextGoAway();
            assertThat(second.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(second.lastStreamId()).isEqualTo(stream);
            final Response rest = busy.response(stream);
            assertThat(rest.grpcStatus()).isEqualTo(Status.Code.OK.value());
            assertThat(messages(rest.data())).hasSize(10);
            assertThat(busy.awaitClosed()).as("busy connection closed once its call ended").isTrue();
            shutdown.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

            // The idle one is told too, and closed.
            final GoAway idleGoAway = idle.awaitGoAwayOrClose();
            assertThat(idle.awaitClosed()).as("idle connection closed").isTrue();
            assertThat(idleGoAway).as("a GOAWAY on the idle connection before it closed").isNotNull();
            assertThat(idleGoAway.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
        }
    }

    @Test
    void clientResetMidStreamCancelsTheSidecarCall() throws Exception {
        final RawHttp2Client client = connect();
        final int stream = client.open(RawHttp2Client.grpcRequest(STREAM_PREDICT), false);
        client.data(stream, RawHttp2Client.framed(request(100, Map.of("sim.stall_after", "2"))), true);
        assertThat(client.next(stream)).isInstanceOf(Headers.class);
        assertThat(awaitMessages(client, stream, 2)).hasSize(2);

        client.reset(stream, Http2Error.CANCEL);

        assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
        assertThat(stack.sim().stats().awaitInflight(0, TIMEOUT)).isTrue();
        Eventually.await("no open streams", TIMEOUT, () -> stack.coordinator.activeCalls() == 0);
    }

    private RawHttp2Client connect() throws Exception {
        return connect(stack);
    }

    private RawHttp2Client connect(TestStack to) throws Exception {
        final RawHttp2Client client = new RawHttp2Client(to.coordinator.grpcEndpoint().socketAddress());
        clients.add(client);
        return client;
    }

    private static void assertServesANormalCall() throws Exception {
        final Result valid = call(stack.coordinatorChannel(), request(2));
        assertThat(valid.status().isOk()).as("%s", valid.status()).isTrue();
        assertThat(valid.chunks()).hasSize(2);
    }

    /** Reads DATA on {@code stream} until it holds {@code n} messages; the server may put several in one frame. */
    private static List<StreamPredictResponse> awaitMessages(RawHttp2Client client, int stream, int n)
            throws Exception {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        List<StreamPredictResponse> messages = List.of();
        while (messages.size() < n) {
            final StreamFrame frame = client.next(stream);
            assertThat(frame).isInstanceOf(Data.class);
            data.writeBytes(((Data) frame).bytes());
            messages = messages(data.toByteArray());
        }
        return messages;
    }

    /** The complete gRPC messages in a stream's DATA, parsed as responses. */
    private static List<StreamPredictResponse> messages(byte[] data) throws Exception {
        final List<StreamPredictResponse> out = new ArrayList<>();
        final ByteBuffer buf = ByteBuffer.wrap(data);
        while (buf.remaining() >= 5 && buf.remaining() >= 5 + buf.getInt(buf.position() + 1)) {
            buf.get();
            final byte[] body = new byte[buf.getInt()];
            buf.get(body);
            out.add(StreamPredictResponse.parseFrom(body));
        }
        return out;
    }
}
