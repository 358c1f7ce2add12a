package io.cy.coordinator.transport.local;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.BytesMarshaller;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InternalServer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.inprocess.InProcessSocketAddress;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The local channel as a service and its caller see it: messages only as requested, readiness
 * that follows the caller's requests, the close held behind unrequested messages, deadlines and
 * cancellation reaching both sides, failures answered as grpc-java's server answers them, and the
 * caller's callbacks on its executor.
 */
class LocalChannelTest {

    private static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = BytesMarshaller.INSTANCE;
    private static final MethodDescriptor<String, String> CHAT = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName("test.Chat/Talk")
            .setRequestMarshaller(TEXT)
            .setResponseMarshaller(TEXT)
            .build();

    private static final Metadata.Key<String> REFUSE = Metadata.Key.of("x-refuse", Metadata.ASCII_STRING_MARSHALLER);

    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService callerThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "caller"));
    private final ExecutorService serviceThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "service"));
    private final Server server = InProcessServerBuilder.forName("local-channel-test").build();
    private final BlockingQueue<ServiceSide> services = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        timers.shutdownNow();
        callerThread.shutdownNow();
        serviceThread.shutdownNow();
    }

    @Test
    void messagesReachEachSideOnlyAsItRequestsAndTheServiceIsReadyWhileTheCallerWantsMore() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);

        call.sendMessage("one");
        call.sendMessage("two");
        call.halfClose();
        assertThat(service.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(service.call.isReady()).isFalse();

        service.call.request(1);
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message one");
        assertThat(service.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        service.call.request(5);
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message two");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("halfClose");

        call.request(1);
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("ready");
        assertThat(service.call.isReady()).isTrue();
        service.call.sendHeaders(new Metadata());
        service.call.sendMessage("answer");
        assertThat(service.call.isReady()).isFalse();
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("headers");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message answer on caller");
    }

    @Test
    void askingForNoMessageChangesNothingAndANegativeCountIsRefused() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);

        call.request(0);
        service.call.request(0);
        call.sendMessage("held");
        assertThat(service.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(service.call.isReady()).isFalse();

        assertThatThrownBy(() -> call.request(-1)).hasMessage("numMessages: -1 (expected: >= 0)");
        assertThatThrownBy(() -> service.call.request(-1)).hasMessage("numMessages: -1 (expected: >= 0)");
    }

    @Test
    void theServicesCloseWaitsForTheMessagesSentBeforeItAndTheServiceCompletesAtOnce() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        call.request(1);
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("ready");

        service.call.sendHeaders(new Metadata());
        for (String m : List.of("a", "b", "c")) {
            service.call.sendMessage(m);
        }
        final Metadata trailers = new Metadata();
        trailers.put(Metadata.Key.of("x-end", Metadata.ASCII_STRING_MARSHALLER), "yes");
        service.call.close(Status.OK, trailers);
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("complete");

        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("headers");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message a on caller");
        assertThat(caller.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(channel.openCalls()).isEqualTo(1);

        call.request(2);
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message b on caller");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message c on caller");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close OK null");
        assertThat(caller.trailers.get().get(Metadata.Key.of("x-end", Metadata.ASCII_STRING_MARSHALLER)))
                .isEqualTo("yes");
        assertThat(channel.openCalls()).isZero();
    }

    @Test
    void theCallersDeadlineIsTheServicesContextAndEndsBothSides() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT,
                CallOptions.DEFAULT.withExecutor(callerThread).withDeadline(Deadline.after(300, TimeUnit.MILLISECONDS)));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        assertThat(service.deadline).isNotNull();
        assertThat(service.server).isSameAs(server);
        assertThat(service.context.isCancelled()).isFalse();

        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).startsWith("close DEADLINE_EXCEEDED deadline exceeded after 0.");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("cancel");
        assertThat(service.call.isCancelled()).isTrue();
        assertThat(service.context.isCancelled()).isTrue();
        assertThat(channel.openCalls()).isZero();
    }

    @Test
    void theCallerCancellingReachesTheServiceAndItsOwnListener() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);

        call.cancel("client disconnected", null);

        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close CANCELLED client disconnected");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("cancel");
        assertThat(service.call.isCancelled()).isTrue();
        // What the service sends after that goes nowhere.
        service.call.sendMessage("late");
        service.call.close(Status.OK, new Metadata());
        assertThat(caller.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(channel.openCalls()).isZero();
    }

    @Test
    void anUnknownMethodIsUnimplementedAndAServiceThatThrowsIsUnknownWithoutItsDetail() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final MethodDescriptor<String, String> other = CHAT.toBuilder().setFullMethodName("test.Chat/Shout").build();
        final Caller unknown = new Caller();
        channel.newCall(other, CallOptions.DEFAULT.withExecutor(callerThread)).start(unknown, new Metadata());
        assertThat(unknown.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close UNIMPLEMENTED Method not found: test.Chat/Shout");

        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        service.call.request(1);
        call.sendMessage("throw");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS))
                .isEqualTo("close UNKNOWN Application error processing RPC");
        assertThat(channel.openCalls()).isZero();
    }

    @Test
    void aCallRefusedWhileItStartsIsHeardOnceStartedAndOnTheCallersExecutor() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final Metadata headers = new Metadata();
        headers.put(REFUSE, "yes");
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, headers);
        call.request(1);

        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close PERMISSION_DENIED refused");
        assertThat(caller.closedOn.get()).isEqualTo("caller");
        assertThat(channel.openCalls()).isZero();
    }

    @Test
    void theCallerHearsOnItsExecutorWhateverThreadTheServiceSendsFrom() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        call.request(2);

        serviceThread.execute(() -> {
            service.call.sendHeaders(new Metadata());
            service.call.sendMessage("from the service's thread");
            service.call.close(Status.INTERNAL.withDescription("broke").withCause(new IllegalStateException("secret")),
                    new Metadata());
        });

        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("headers");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message from the service's thread on caller");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close INTERNAL broke");
        // As over a transport: the cause stays in the service.
        assertThat(caller.status.get().getCause()).isNull();
    }

    @Test
    void messagesConvertBetweenTheCallersMarshallersAndTheServices() throws Exception {
        final MethodDescriptor<String, byte[]> relayed = CHAT.toBuilder(TEXT, BYTES).build();
        final LocalChannel channel = channel(relayed);
        final Caller caller = new Caller();
        final ClientCall<String, String> call = channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread));
        call.start(caller, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        call.request(1);
        service.call.request(1);
        call.sendMessage("question");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("ready");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message question");

        ((ServerCall<String, byte[]>) (ServerCall<?, ?>) service.call).sendMessage("bytes".getBytes(UTF_8));
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("headers");
        assertThat(caller.events.poll(5, TimeUnit.SECONDS)).isEqualTo("message bytes on caller");
    }

    @Test
    void theServicesSeeACallFromInsideTheProcess() throws Exception {
        final LocalChannel channel = channel(CHAT);
        channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread)).start(new Caller(), new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);

        assertThat(service.call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR))
                .isEqualTo(new InProcessSocketAddress("bridge"));
        assertThat(service.call.getAuthority()).isEqualTo("bridge");
        assertThat(service.call.getMethodDescriptor().getFullMethodName()).isEqualTo("test.Chat/Talk");
    }

    @Test
    void shutdownEndsOpenCallsAndRefusesNewOnes() throws Exception {
        final LocalChannel channel = channel(CHAT);
        final Caller open = new Caller();
        channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread)).start(open, new Metadata());
        final ServiceSide service = services.poll(5, TimeUnit.SECONDS);
        assertThat(channel.openCalls()).isEqualTo(1);

        channel.shutdownNow();

        assertThat(open.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close UNAVAILABLE coordinator shut down");
        assertThat(service.events.poll(5, TimeUnit.SECONDS)).isEqualTo("cancel");
        final Caller late = new Caller();
        channel.newCall(CHAT, CallOptions.DEFAULT.withExecutor(callerThread)).start(late, new Metadata());
        assertThat(late.events.poll(5, TimeUnit.SECONDS)).isEqualTo("close UNAVAILABLE coordinator shut down");
        assertThat(services).isEmpty();
        assertThat(channel.openCalls()).isZero();
    }

    private <Req, Resp> LocalChannel channel(MethodDescriptor<Req, Resp> method) {
        final ServerCallHandler<Req, Resp> handler = (call, headers) -> {
            if (headers.containsKey(REFUSE)) {
                // As an interceptor refusing the call does: closed before the handler returns.
                call.close(Status.PERMISSION_DENIED.withDescription("refused"), new Metadata());
                return new ServerCall.Listener<>() {};
            }
            final ServiceSide side = new ServiceSide(call);
            services.add(side);
            @SuppressWarnings("unchecked")
            final ServerCall.Listener<Req> listener = (ServerCall.Listener<Req>) side.listener();
            return listener;
        };
        final ServerServiceDefinition service = ServerServiceDefinition.builder("test.Chat")
                .addMethod(method, handler)
                .build();
        return new LocalChannel(server, List.of(service), timers, "bridge");
    }

    /** What the service saw: its call, its context, and its listener's events in order. */
    private static final class ServiceSide {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        final ServerCall<Object, Object> call;
        final Context context = Context.current();
        final Deadline deadline = Context.current().getDeadline();
        final Server server = InternalServer.SERVER_CONTEXT_KEY.get();

        @SuppressWarnings("unchecked")
        ServiceSide(ServerCall<?, ?> call) {
            this.call = (ServerCall<Object, Object>) call;
        }

        ServerCall.Listener<Object> listener() {
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(Object message) {
                    if ("throw".equals(message)) {
                        throw new IllegalStateException("a bug with details");
                    }
                    events.add("message " + message);
                }

                @Override
                public void onHalfClose() {
                    events.add("halfClose");
                }

                @Override
                public void onCancel() {
                    events.add("cancel");
                }

                @Override
                public void onComplete() {
                    events.add("complete");
                }

                @Override
                public void onReady() {
                    events.add("ready");
                }
            };
        }
    }

    /** The caller's listener: its events in order, each message with the thread it arrived on. */
    private static final class Caller extends ClientCall.Listener<String> {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        final AtomicReference<Status> status = new AtomicReference<>();
        final AtomicReference<Metadata> trailers = new AtomicReference<>();
        final AtomicReference<String> closedOn = new AtomicReference<>();

        @Override
        public void onHeaders(Metadata headers) {
            events.add("headers");
        }

        @Override
        public void onMessage(String message) {
            events.add("message " + message + " on " + Thread.currentThread().getName());
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
            closedOn.set(Thread.currentThread().getName());
            this.status.set(status);
            this.trailers.set(trailers);
            events.add("close " + status.getCode() + " " + status.getDescription());
        }
    }
}
