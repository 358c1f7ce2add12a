package io.cy.coordinator.transport.client;

import static io.cy.coordinator.transport.client.ScriptedHttp2Server.grpcFrame;
import static io.cy.coordinator.transport.client.ScriptedHttp2Server.responseHeaders;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.cy.coordinator.service.AiInferenceServices;
import io.cy.coordinator.transport.client.ScriptedHttp2Server.Exchange;
import io.cy.coordinator.transport.client.ScriptedHttp2Server.RequestData;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Settings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link SidecarStreams} against a scripted HTTP/2 server on a real socket: what a call sends,
 * how response frames become messages and a status, flow control, and what resets, GOAWAY,
 * lost connections and cancellation do to calls.
 */
class SidecarStreamsTest {

    private static final MethodDescriptor<StreamPredictRequest, byte[]> METHOD =
            AiInferenceServices.SIDECAR_STREAM_PREDICT;
    private static final int STREAM_WINDOW_BYTES = 64 * 1024;
    private static final int MAX_MESSAGE_BYTES = 16 * 1024;
    private static final long TIMEOUT_SECONDS = 5;
    private static final StreamPredictRequest REQUEST =
            StreamPredictRequest.newBuilder().setModelId("model-a").setPrompt("hello").build();

    private final NettyTransport transport = NettyTransport.create(1, "sidecar-streams-test");
    private final EventLoop loop = transport.eventLoops().get(0);
    private final ScriptedHttp2Server server = new ScriptedHttp2Server();
    private final List<SidecarStreams> opened = new ArrayList<>();
    private final List<ScriptedHttp2Server> otherServers = new ArrayList<>();
    private final SidecarStreams streams = streamsTo(server.port());

    @AfterEach
    void close() {
        for (SidecarStreams s : opened) {
            s.close(Duration.ofSeconds(5));
        }
        server.close();
        otherServers.forEach(ScriptedHttp2Server::close);
        transport.close();
    }

    @Test
    void sendsTheRequestAndDeliversResponsesAndTrailers() throws Exception {
        final Metadata headers = new Metadata();
        headers.put(key("authorization"), "Bearer sidecar-secret");
        headers.put(key("trace-id"), "trace-1");
        final TestCall call = newCall(Deadline.after(10, TimeUnit.SECONDS)).start(headers).request(10);
        call.sendMessage(REQUEST);

        final Exchange exchange = server.nextExchange();
        assertThat(exchange.requestHeader(":method")).isEqualTo("POST");
        assertThat(exchange.requestHeader(":path")).isEqualTo("/cy.llm.AiInference/StreamPredict");
        assertThat(exchange.requestHeader("content-type")).isEqualTo("application/grpc");
        assertThat(exchange.requestHeader("te")).isEqualTo("trailers");
        assertThat(exchange.requestHeader("authorization")).isEqualTo("Bearer sidecar-secret");
        assertThat(exchange.requestHeader("trace-id")).isEqualTo("trace-1");
        // Never more than the 10 s left: at most 10,000,000 µs, and not much less.
        assertThat(exchange.requestHeader("grpc-timeout")).matches("\\d{1,8}u");
        assertThat(Long.parseLong(exchange.requestHeader("grpc-timeout").replace("u", "")))
                .isBetween(5_000_000L, 10_000_000L);

        final RequestData message = exchange.nextRequestData();
        assertThat(message.bytes()).isEqualTo(grpcFrame(0, REQUEST.toByteArray()));
        assertThat(message.endStream()).isFalse();
        call.halfClose();
        final RequestData end = exchange.nextRequestData();
        assertThat(end.bytes()).isEmpty();
        assertThat(end.endStream()).isTrue();

        final byte[] first = response(0, "Hel");
        final byte[] second = response(1, "lo");
        final byte[] third = response(2, "!");
        final byte[] cost = {0, 1, 2, (byte) 0xff};
        exchange.headers().messages(first, second, third).trailers(0,
                "grpc-message", "done",
                "x-served-by", "sidecar-1",
                "x-cost-bin", Base64.getEncoder().withoutPadding().encodeToString(cost));

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(first, second, third);
        assertThat(closed.messagesBefore()).isEqualTo(3);
        assertThat(closed.trailers().get(key("x-served-by"))).isEqualTo("sidecar-1");
        assertThat(closed.trailers().get(Metadata.Key.of("x-cost-bin", Metadata.BINARY_BYTE_MARSHALLER)))
                .isEqualTo(cost);
        assertThat(closed.trailers().keys()).doesNotContain("grpc-status", "grpc-message");
        assertThat(call.call.answeredBySidecar()).isTrue();
    }

    @Test
    void messagesSplitAcrossDataFramesAndSharingThemArriveIntact() throws Exception {
        final TestCall call = openCall();
        final byte[] a = bytes(10, 'a');
        final byte[] b = bytes(300, 'b');
        final byte[] c = bytes(1, 'c');
        final byte[] d = bytes(0, 'd');
        final byte[] e = bytes(40, 'e');
        final byte[] f = bytes(7, 'f');
        final byte[] stream = concat(grpcFrame(0, a), grpcFrame(0, b), grpcFrame(0, c), grpcFrame(0, d));
        final Exchange exchange = server.nextExchange().headers();
        // a's prefix split after 2 bytes, a's body split, b's prefix split after 2 bytes, b's body
        // split, then the rest of b with c and d whole in one frame.
        final int[] cuts = {0, 2, 9, 17, 120, stream.length};
        for (int i = 0; i + 1 < cuts.length; i++) {
            exchange.data(Arrays.copyOfRange(stream, cuts[i], cuts[i + 1]), false);
        }
        exchange.data(concat(grpcFrame(0, e), grpcFrame(0, f)), false).trailers(0);

        assertThat(call.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(a, b, c, d, e, f);
    }

    @Test
    void deliversOnlyRequestedMessagesAndClosesAfterTheQueuedOnes() throws Exception {
        final TestCall call = newCall(null).start(new Metadata()).request(1);
        call.sendMessage(REQUEST);
        call.halfClose();
        final byte[] first = response(0, "a");
        final byte[] second = response(1, "b");
        final byte[] third = response(2, "c");
        final Exchange exchange = server.nextExchange();
        exchange.headers().messages(first, second, third).trailers(0);
        exchange.roundTrip();

        assertThat(call.nextMessage()).isEqualTo(first);
        assertThat(call.received()).hasSize(1);
        assertThat(call.closed).as("closed while messages are queued").isNotDone();

        call.request(1);
        assertThat(call.nextMessage()).isEqualTo(second);
        assertThat(call.closed).as("closed while a message is queued").isNotDone();

        call.request(1);
        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(closed.messagesBefore()).isEqualTo(3);
        assertThat(call.received()).containsExactly(first, second, third);
    }

    @Test
    void trailersOnlyResponseIsTheSidecarsStatus() throws Exception {
        final TestCall call = openCall();
        server.nextExchange().headers(responseHeaders()
                .set("grpc-status", "5")
                .set("grpc-message", "model%20x"), true);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(closed.status().getDescription()).isEqualTo("model x");
        assertThat(call.call.answeredBySidecar()).isTrue();
    }

    @Test
    void nonOkHttpStatusIsUnavailableAndNotTheSidecarsAnswer() throws Exception {
        final TestCall call = openCall();
        final Exchange exchange = server.nextExchange()
                .headers(responseHeaders().status("503").set("content-type", "text/plain"), false);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(closed.status().getDescription()).contains("HTTP status code 503");
        assertThat(call.call.answeredBySidecar()).isFalse();
        assertThat(exchange.reset).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS)).isEqualTo(Http2Error.CANCEL);
    }

    @Test
    void responseThatIsNotGrpcIsUnknown() throws Exception {
        final TestCall call = openCall();
        server.nextExchange().headers(responseHeaders().set("content-type", "text/html"), false);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNKNOWN);
        assertThat(closed.status().getDescription()).contains("content-type").contains("text/html");
    }

    @Test
    void messageOverTheLimitIsResourceExhaustedAndResetsTheStream() throws Exception {
        final TestCall call = openCall();
        final Exchange exchange = server.nextExchange().headers()
                .messages(new byte[MAX_MESSAGE_BYTES + 1]);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(closed.status().getDescription())
                .contains(String.valueOf(MAX_MESSAGE_BYTES + 1))
                .contains(String.valueOf(MAX_MESSAGE_BYTES));
        assertThat(call.received()).isEmpty();
        assertThat(exchange.reset).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS)).isEqualTo(Http2Error.CANCEL);
    }

    @Test
    void compressedMessageIsInternalAndResetsTheStream() throws Exception {
        final TestCall call = openCall();
        final Exchange exchange = server.nextExchange().headers()
                .data(grpcFrame(1, response(0, "zipped")), false);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(closed.status().getDescription()).contains("compressed");
        assertThat(exchange.reset).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS)).isEqualTo(Http2Error.CANCEL);
    }

    @ParameterizedTest
    @CsvSource({"REFUSED_STREAM, UNAVAILABLE", "CANCEL, CANCELLED", "PROTOCOL_ERROR, INTERNAL",
            "INTERNAL_ERROR, INTERNAL"})
    void resetByTheSidecarEndsTheCall(Http2Error error, Status.Code expected) throws Exception {
        final TestCall call = openCall();
        server.nextExchange().headers().rst(error);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(expected);
        assertThat(closed.status().getDescription()).contains(error.name());
        assertThat(call.call.answeredBySidecar()).isFalse();
    }

    @Test
    void aCancelFromTheSidecarAtOrAfterTheDeadlineIsDeadlineExceeded() throws Exception {
        // The sidecar's timer, started from our grpc-timeout, may fire before ours: its CANCEL is then the deadline.
        final Status status = cancelledBySidecar(Duration.ofMillis(200), Duration.ofMillis(200));

        assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(status.getDescription()).contains("CANCEL").contains("deadline");
    }

    @Test
    void aCancelFromTheSidecarBeforeTheDeadlineIsCancelled() throws Exception {
        assertThat(cancelledBySidecar(Duration.ofMillis(200), Duration.ofMillis(199)).getCode())
                .isEqualTo(Status.Code.CANCELLED);
    }

    /** The status of a call with {@code deadline} that the sidecar resets with CANCEL {@code after} it started. */
    private Status cancelledBySidecar(Duration deadline, Duration after) throws Exception {
        final MovableTicker ticker = new MovableTicker();
        final TestCall call = newCall(Deadline.after(deadline.toNanos(), TimeUnit.NANOSECONDS, ticker))
                .start(new Metadata()).request(1);
        call.sendMessage(REQUEST);
        final Exchange exchange = server.nextExchange();
        ticker.advance(after);
        exchange.headers().rst(Http2Error.CANCEL);
        return call.awaitClose().status();
    }

    @Test
    void streamEndedByDataWithoutTrailersIsInternal() throws Exception {
        final TestCall call = openCall();
        server.nextExchange().headers().data(grpcFrame(0, response(0, "a")), true);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(closed.status().getDescription()).contains("without trailers");
        assertThat(call.call.answeredBySidecar()).isFalse();
    }

    @Test
    void dataBeforeTheResponseHeadersIsAProtocolError() throws Exception {
        final TestCall call = openCall();
        final Exchange exchange = server.nextExchange().messages(response(0, "a"));

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(closed.status().getDescription()).contains("DATA before its response HEADERS");
        assertThat(call.received()).isEmpty();
        assertThat(call.call.answeredBySidecar()).isFalse();
        assertThat(exchange.reset).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS))
                .isEqualTo(Http2Error.PROTOCOL_ERROR);
    }

    @Test
    void informationalHeadersBeforeTheResponseAreSkipped() throws Exception {
        final TestCall call = openCall();
        final byte[] first = response(0, "a");
        server.nextExchange().headers(new DefaultHttp2Headers().status("100"), false)
                .headers().messages(first).trailers(0);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).as("%s", closed.status()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(first);
    }

    @Test
    void lostConnectionIsUnavailableAndTheNextCallConnectsAgain() throws Exception {
        final TestCall lost = openCall();
        final Exchange first = server.nextExchange().headers().messages(response(0, "a"));
        lost.nextMessage();
        first.closeConnection();

        final Closed closed = lost.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(closed.status().getDescription()).contains("127.0.0.1:" + server.port());
        assertThat(lost.call.answeredBySidecar()).isFalse();

        final TestCall next = openCall();
        final Exchange second = server.nextExchange();
        assertThat(second.connectionId()).isEqualTo(2);
        second.headers().messages(response(0, "b")).trailers(0);
        assertThat(next.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(next.received()).containsExactly(response(0, "b"));
    }

    @Test
    void aResetConnectionIsUnavailableWithoutAWarningAtThePipelinesTail() throws Exception {
        final ch.qos.logback.classic.Logger pipeline = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger(io.netty.channel.DefaultChannelPipeline.class);
        final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> warnings =
                new ch.qos.logback.core.read.ListAppender<>();
        warnings.start();
        pipeline.addAppender(warnings);
        try {
            final TestCall lost = openCall();
            final Exchange first = server.nextExchange().headers().messages(response(0, "a"));
            lost.nextMessage();
            first.resetConnection();

            final Closed closed = lost.awaitClose();
            assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(closed.status().getDescription()).contains("127.0.0.1:" + server.port());
            // The next call connects again, so the reset was seen and handled before this point.
            final TestCall next = openCall();
            server.nextExchange().headers().messages(response(0, "b")).trailers(0);
            assertThat(next.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(warnings.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .isEmpty();
        } finally {
            pipeline.detachAppender(warnings);
        }
    }

    @Test
    void nothingListeningIsUnavailableNamingTheTargetAndNeverInsideStart() throws Exception {
        final int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        final SidecarStreams nowhere = streamsTo(port);
        final TestCall call = new TestCall(nowhere.newCall(METHOD, null)).start(new Metadata());

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(closed.status().getDescription()).contains("127.0.0.1:" + port);
        assertThat(call.call.answeredBySidecar()).isFalse();
    }

    @Test
    void goAwayFailsStreamsBeyondItsLastStreamAndNewCallsUseANewConnection() throws Exception {
        final TestCall kept = openCall();
        final Exchange keptExchange = server.nextExchange();
        final TestCall dropped = openCall();
        final Exchange droppedExchange = server.nextExchange();
        assertThat(droppedExchange.connectionId()).isEqualTo(keptExchange.connectionId());
        assertThat(droppedExchange.streamId()).isGreaterThan(keptExchange.streamId());

        keptExchange.goAway(keptExchange.streamId());
        final Closed droppedClosed = dropped.awaitClose();
        assertThat(droppedClosed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(droppedClosed.status().getDescription()).contains("GOAWAY");
        assertThat(dropped.call.answeredBySidecar()).isFalse();

        final TestCall after = openCall();
        final Exchange afterExchange = server.nextExchange();
        assertThat(afterExchange.connectionId()).isNotEqualTo(keptExchange.connectionId());
        afterExchange.headers().messages(response(0, "new")).trailers(0);
        assertThat(after.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(after.received()).containsExactly(response(0, "new"));

        keptExchange.headers().messages(response(0, "old")).trailers(0);
        assertThat(kept.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(kept.received()).containsExactly(response(0, "old"));
    }

    @Test
    void cancelResetsTheStreamAndClosesTheCallAfterCancelReturns() throws Exception {
        final TestCall call = openCall();
        final Exchange exchange = server.nextExchange().headers().messages(response(0, "a"));
        call.nextMessage();

        call.cancel("why");

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(closed.status().getDescription()).isEqualTo("why");
        assertThat(exchange.reset).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS)).isEqualTo(Http2Error.CANCEL);
    }

    @Test
    void callMadeFromOutsideTheEventLoopWorksTheSame() throws Exception {
        final SidecarCall<StreamPredictRequest> sidecarCall = streams.newCall(METHOD, null);
        final TestCall listener = new TestCall(sidecarCall);
        assertThat(sidecarCall.isReady()).isFalse();
        sidecarCall.start(listener, new Metadata());
        sidecarCall.request(5);
        sidecarCall.sendMessage(REQUEST);
        sidecarCall.halfClose();

        assertThat(listener.ready).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS));
        final Exchange exchange = server.nextExchange();
        assertThat(exchange.requestEnded).succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS))
                .isEqualTo(grpcFrame(0, REQUEST.toByteArray()));
        exchange.headers().messages(response(0, "a"), response(1, "b")).trailers(0);

        assertThat(listener.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(listener.received()).containsExactly(response(0, "a"), response(1, "b"));
        assertThat(sidecarCall.answeredBySidecar()).isTrue();
    }

    @Test
    void readerThatDoesNotRequestHoldsTheSidecarBackAtTheStreamWindow() throws Exception {
        final TestCall call = openCall(0);
        final Exchange exchange = server.nextExchange();
        final int count = 64;
        final byte[][] messages = new byte[count][];
        for (int i = 0; i < count; i++) {
            messages[i] = bytes(8 * 1024, i);
        }
        final long total = (long) count * (5 + 8 * 1024);
        exchange.headers().messages(messages).trailers(0);

        final long sent = awaitQuiet(exchange);
        assertThat(exchange.isWritable()).as("the server's stream is writable").isFalse();
        assertThat(sent).isLessThanOrEqualTo(STREAM_WINDOW_BYTES + STREAM_WINDOW_BYTES / 2).isLessThan(total);
        assertThat(call.received()).isEmpty();

        call.request(Integer.MAX_VALUE);
        assertThat(call.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(messages);
        assertThat(exchange.dataBytesSent()).isEqualTo(total);
    }

    /** A message larger than the window, with nothing requested: held at the window, not taken in whole. */
    @Test
    void aMessageLargerThanTheWindowWaitsUntilOneIsRequested() throws Exception {
        final Endpoint endpoint = Endpoint.tcp("127.0.0.1", server.port());
        final SidecarStreams roomy = new SidecarStreams(endpoint, transport.eventLoops(), transport.channelType(endpoint),
                new SidecarStreams.Settings(STREAM_WINDOW_BYTES, 1 << 20, 16 * 1024,
                        Duration.ofSeconds(30), Duration.ofSeconds(10)));
        opened.add(roomy);
        final TestCall call = new TestCall(roomy.newCall(METHOD, null)).start(new Metadata());
        call.sendMessage(REQUEST);
        call.halfClose();
        final Exchange exchange = server.nextExchange();
        final byte[] large = bytes(4 * STREAM_WINDOW_BYTES, 7);
        exchange.headers().messages(large).trailers(0);

        final long sent = awaitQuiet(exchange);
        assertThat(exchange.isWritable()).as("the server's stream is writable").isFalse();
        assertThat(sent).as("bytes the sidecar got to send").isLessThanOrEqualTo(STREAM_WINDOW_BYTES);

        call.request(1);
        assertThat(call.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(large);
    }

    // ---- contract points beyond the list above ----

    /** SidecarCall: request() may hand over the messages already here, but its onClose follows later, on the loop. */
    @Test
    void requestHandsOverQueuedMessagesButNeverTheClose() throws Exception {
        final TestCall call = openCall(0);
        final Exchange exchange = server.nextExchange();
        exchange.headers().messages(response(0, "a")).trailers(0);
        exchange.roundTrip();

        call.requestWatched(1);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(call.received()).containsExactly(response(0, "a"));
    }

    /**
     * A sidecar may end a call before the request has ended (an early error, say); the stream is
     * then half-closed (remote) until the client ends its side, as grpc-java's client does with
     * RST_STREAM (grpc/grpc-java#4222).
     */
    @Test
    void callAnsweredBeforeItHalfClosesStillEndsItsStream() throws Exception {
        final TestCall call = newCall(null).start(new Metadata()).request(1);
        final Exchange exchange = server.nextExchange();
        exchange.headers(responseHeaders().set("grpc-status", "8"), true);
        assertThat(call.awaitClose().status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        // What the forwarder does when the client's request arrives after the sidecar answered.
        call.sendMessage(REQUEST);
        call.halfClose();

        assertThat(CompletableFuture.anyOf(exchange.reset, exchange.requestEnded))
                .as("RST_STREAM or END_STREAM from the client")
                .succeedsWithin(Duration.ofSeconds(TIMEOUT_SECONDS));
    }

    /** A stream the connection cannot open (its headers exceed the sidecar's limit) must still close the call. */
    @Test
    void callWhoseStreamCannotBeOpenedStillCloses() throws Exception {
        final ScriptedHttp2Server strict = new ScriptedHttp2Server(new Http2Settings().maxHeaderListSize(1024));
        otherServers.add(strict);
        final SidecarStreams strictStreams = streamsTo(strict.port());
        // A first call, so that the sidecar's SETTINGS (and its header limit) are known.
        final TestCall first = new TestCall(strictStreams.newCall(METHOD, null)).start(new Metadata()).request(1);
        first.sendMessage(REQUEST);
        first.halfClose();
        strict.nextExchange().headers(responseHeaders().set("grpc-status", "0"), true);
        assertThat(first.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);

        final Metadata big = new Metadata();
        big.put(key("x-big"), "x".repeat(2048));
        final TestCall call = new TestCall(strictStreams.newCall(METHOD, null)).start(big);

        final Closed closed = call.awaitClose();
        assertThat(closed.status().getCode()).isNotEqualTo(Status.Code.OK);
        assertThat(call.call.answeredBySidecar()).isFalse();
    }

    /** A sidecar that hangs (accepts, then answers nothing) fails its calls when keepalive goes unanswered. */
    @Test
    void aSidecarThatStopsAnsweringFailsItsCallsWhenKeepaliveGoesUnanswered() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            final SidecarStreams s = new SidecarStreams(Endpoint.tcp("127.0.0.1", silent.getLocalPort()),
                    transport.eventLoops(), transport.channelType(Endpoint.tcp("127.0.0.1", silent.getLocalPort())),
                    new SidecarStreams.Settings(STREAM_WINDOW_BYTES, MAX_MESSAGE_BYTES, 16 * 1024,
                            Duration.ofMillis(100), Duration.ofMillis(100)));
            opened.add(s);
            final TestCall call = new TestCall(s.newCall(METHOD, null)).start(new Metadata()).request(1);
            call.sendMessage(REQUEST);
            call.halfClose();
            try (java.net.Socket accepted = silent.accept()) {
                final Closed closed = call.awaitClose();
                assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(closed.status().getDescription()).contains("keepalive");
                assertThat(call.call.answeredBySidecar()).isFalse();
            }
        }
    }

    /**
     * A sidecar that floods PINGs and never reads is cut by the cap on queued control frames:
     * its calls fail, and it could not send more than the kernel's buffers and 10,000 queued
     * answers' worth (about 500,000 PINGs with a stock kernel's 4 MiB send buffer).
     */
    @Test
    void aSidecarThatFloodsPingsWithoutReadingIsCut() throws Exception {
        try (ServerSocket flooding = new ServerSocket()) {
            flooding.setReceiveBufferSize(4096);
            flooding.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            final SidecarStreams s = streamsTo(flooding.getLocalPort());
            final TestCall call = new TestCall(s.newCall(METHOD, null)).start(new Metadata()).request(1);
            call.sendMessage(REQUEST);
            long sent = 0;
            try (java.net.Socket accepted = flooding.accept()) {
                accepted.setSendBufferSize(1 << 16);
                final java.io.OutputStream out = new java.io.BufferedOutputStream(accepted.getOutputStream(), 1 << 16);
                out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
                final byte[] ping = {0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
                while (sent < 2_000_000) {
                    for (int i = 0; i < 1000; i++) {
                        out.write(ping);
                    }
                    out.flush();
                    sent += 1000;
                }
            } catch (IOException cut) {
                // What is asserted is how many went out before.
            }

            assertThat(sent).as("PINGs sent before the connection was cut").isLessThan(1_000_000);
            final Closed closed = call.awaitClose();
            assertThat(closed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        }
    }

    /**
     * A sidecar resets streams of ours (its deadlines expiring, its load shedding): hundreds of
     * them keep the connection, unlike a client resetting that many streams of its own.
     */
    @Test
    void resetsFromASidecarAreNotCountedAsAFlood() throws Exception {
        int connection = -1;
        for (int i = 0; i < 250; i++) {
            final TestCall call = openCall();
            final Exchange exchange = server.nextExchange();
            if (connection < 0) {
                connection = exchange.connectionId();
            }
            assertThat(exchange.connectionId()).as("connection of call " + i).isEqualTo(connection);
            exchange.headers().rst(Http2Error.CANCEL);
            assertThat(call.awaitClose().status().getCode()).isNotEqualTo(Status.Code.OK);
        }
        final TestCall last = openCall();
        final Exchange exchange = server.nextExchange();
        assertThat(exchange.connectionId()).isEqualTo(connection);
        exchange.headers().trailers(0);
        assertThat(last.awaitClose().status().getCode()).isEqualTo(Status.Code.OK);
    }

    // ---- helpers ----

    /**
     * Waits until a round trip passes with nothing more sent by the server, and returns what it
     * sent by then: the window updates for whatever the client had read come back before the
     * PING's ACK.
     */
    private static long awaitQuiet(Exchange exchange) throws Exception {
        long sent;
        do {
            sent = exchange.dataBytesSent();
            exchange.roundTrip();
        } while (exchange.dataBytesSent() != sent);
        return sent;
    }

    private SidecarStreams streamsTo(int port) {
        final SidecarStreams s = new SidecarStreams(Endpoint.tcp("127.0.0.1", port), transport.eventLoops(),
                transport.channelType(Endpoint.tcp("127.0.0.1", port)),
                new SidecarStreams.Settings(STREAM_WINDOW_BYTES, MAX_MESSAGE_BYTES, 16 * 1024,
                        Duration.ofSeconds(30), Duration.ofSeconds(10)));
        opened.add(s);
        return s;
    }

    /** A clock for deadlines that moves only when told. */
    private static final class MovableTicker extends Deadline.Ticker {

        private final AtomicLong nanos = new AtomicLong();

        @Override
        public long nanoTime() {
            return nanos.get();
        }

        void advance(Duration by) {
            nanos.addAndGet(by.toNanos());
        }
    }

    private TestCall newCall(Deadline deadline) {
        return new TestCall(streams.newCall(METHOD, deadline));
    }

    /** A call that has sent its one request and half-closed, reading every response. */
    private TestCall openCall() {
        return openCall(Integer.MAX_VALUE);
    }

    private TestCall openCall(int requested) {
        final TestCall call = newCall(null).start(new Metadata());
        if (requested > 0) {
            call.request(requested);
        }
        call.sendMessage(REQUEST);
        call.halfClose();
        return call;
    }

    private static Metadata.Key<String> key(String name) {
        return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
    }

    private static byte[] response(int index, String chunk) {
        return StreamPredictResponse.newBuilder().setIndex(index).setChunk(chunk).build().toByteArray();
    }

    private static byte[] bytes(int length, int fill) {
        final byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) fill);
        return bytes;
    }

    private static byte[] concat(byte[]... parts) throws IOException {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part);
        }
        return out.toByteArray();
    }

    record Closed(Status status, Metadata trailers, int messagesBefore) {}

    /**
     * A call driven from its event loop, as the forwarder drives it, and the listener that
     * records what it heard and every breach of the listener contract (wrong thread, inside a
     * method of the call, after onClose, onClose twice).
     */
    private final class TestCall implements SidecarCall.Listener {

        final SidecarCall<StreamPredictRequest> call;
        final CompletableFuture<Closed> closed = new CompletableFuture<>();
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
        private final List<byte[]> received = new CopyOnWriteArrayList<>();
        private final List<String> violations = new CopyOnWriteArrayList<>();
        // The call method running on the loop right now, if any.
        private volatile String inside;

        TestCall(SidecarCall<StreamPredictRequest> call) {
            this.call = call;
        }

        TestCall start(Metadata headers) {
            onLoop("start", () -> call.start(this, headers));
            return this;
        }

        /** Not watched for listener calls inside it: that is requestHandsOverQueuedMessagesButNeverTheClose's question. */
        TestCall request(int n) {
            onLoop(null, () -> call.request(n));
            return this;
        }

        void requestWatched(int n) {
            onLoop("request", () -> call.request(n));
        }

        void sendMessage(StreamPredictRequest message) {
            onLoop("sendMessage", () -> call.sendMessage(message));
        }

        void halfClose() {
            onLoop("halfClose", call::halfClose);
        }

        void cancel(String message) {
            onLoop("cancel", () -> call.cancel(message));
        }

        byte[] nextMessage() throws InterruptedException {
            final byte[] message = messages.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (message == null) {
                fail("no message within %d s; heard so far: %s", TIMEOUT_SECONDS, violations);
            }
            return message;
        }

        List<byte[]> received() {
            return received;
        }

        Closed awaitClose() throws Exception {
            final Closed c;
            try {
                c = closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("no onClose within " + TIMEOUT_SECONDS + " s", e);
            }
            // A task behind onClose would see a late callback.
            CompletableFuture.runAsync(() -> {}, loop).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(violations).as("listener contract breaches").isEmpty();
            return c;
        }

        @Override
        public void onMessage(byte[] message) {
            check("onMessage");
            received.add(message);
            messages.add(message);
        }

        @Override
        public void onReady() {
            check("onReady");
            ready.complete(null);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
            check("onClose");
            if (!closed.complete(new Closed(status, trailers, received.size()))) {
                violations.add("onClose twice");
            }
        }

        private void check(String callback) {
            if (!loop.inEventLoop()) {
                violations.add(callback + " on " + Thread.currentThread().getName());
            }
            final String method = inside;
            // request() may hand over messages already here, as grpc-java does; nothing else runs inside a call.
            if (method != null && !("request".equals(method) && "onMessage".equals(callback))) {
                violations.add(callback + " inside " + method + "()");
            }
            if (closed.isDone()) {
                violations.add(callback + " after onClose");
            }
        }

        private void onLoop(String method, Runnable action) {
            CompletableFuture.runAsync(() -> {
                inside = method;
                try {
                    action.run();
                } finally {
                    inside = null;
                }
            }, loop).orTimeout(TIMEOUT_SECONDS, TimeUnit.SECONDS).join();
        }
    }
}
