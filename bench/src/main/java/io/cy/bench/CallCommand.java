package io.cy.bench;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Makes one call on a channel and prints the answer: the answer itself to {@code out}, the
 * summary and errors to {@code err}, so a script can read stdout without filtering.
 */
final class CallCommand {

    static final int EXIT_OK = 0;
    static final int EXIT_CALL_FAILED = 1;

    static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);

    private final Channel channel;
    private final PrintStream out;
    private final PrintStream err;
    private final AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
    private final AtomicReference<Metadata> responseTrailers = new AtomicReference<>();

    CallCommand(Channel channel, PrintStream out, PrintStream err) {
        this.channel = channel;
        this.out = out;
        this.err = err;
    }

    /** Makes the call; returns the process exit status. */
    int run(CallArgs args) throws InterruptedException {
        final Channel intercepted = ClientInterceptors.intercept(channel,
                MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, responseTrailers),
                MetadataUtils.newAttachHeadersInterceptor(requestHeaders(args)));
        switch (args.method()) {
            case HEALTH:
                return health(args, intercepted);
            case CONTROL:
                return control(args, intercepted);
            case STREAM:
            default:
                return stream(args, intercepted);
        }
    }

    private int health(CallArgs args, Channel intercepted) {
        final WorkerHealthResponse response;
        try {
            response = withDeadline(AiInferenceGrpc.newBlockingStub(intercepted), args)
                    .health(WorkerHealthRequest.newBuilder().setTraceId(args.traceId()).build());
        } catch (StatusRuntimeException e) {
            return failed(e.getStatus());
        }
        out.println("healthy=" + response.getHealthy());
        printSorted(response.getMetricsMap());
        out.flush();
        return EXIT_OK;
    }

    private int control(CallArgs args, Channel intercepted) {
        final ControlMessage response;
        try {
            response = withDeadline(AiInferenceGrpc.newBlockingStub(intercepted), args)
                    .control(ControlMessage.newBuilder()
                            .setTraceId(args.traceId())
                            .setCommand(args.command())
                            .putAllPayload(args.payload())
                            .build());
        } catch (StatusRuntimeException e) {
            return failed(e.getStatus());
        }
        out.println("command=" + response.getCommand());
        printSorted(response.getPayloadMap());
        out.flush();
        return EXIT_OK;
    }

    private int stream(CallArgs args, Channel intercepted) throws InterruptedException {
        final GenerationParameters.Builder generation = GenerationParameters.newBuilder()
                .setMaxNewTokens(args.maxNewTokens())
                .setTemperature(args.temperature());
        final StreamPredictRequest.Builder request = StreamPredictRequest.newBuilder()
                .setModelId(args.model())
                .setPrompt(args.prompt())
                .setGeneration(generation);
        if (!args.traceId().isEmpty()) {
            request.setMetadata(StreamMetadata.newBuilder().setTraceId(args.traceId()));
        }

        final ChunkPrinter printer = new ChunkPrinter(out);
        final StreamObserver<StreamPredictRequest> requests =
                withDeadline(AiInferenceGrpc.newStub(intercepted), args).streamPredict(printer);
        requests.onNext(request.build());
        requests.onCompleted();
        printer.await();

        if (printer.wroteText) {
            out.println();
        }
        out.flush();
        err.println(summary(printer));
        err.flush();
        return printer.status.isOk() ? EXIT_OK : failed(printer.status);
    }

    private String summary(ChunkPrinter printer) {
        final StringBuilder line = new StringBuilder("-- ").append(printer.chunks).append(" chunks");
        if (printer.last != null) {
            line.append(String.format(Locale.ROOT, ", ttft_ms=%.1f tokens_per_sec=%.1f",
                    printer.last.getTtftMs(), printer.last.getTokensPerSec()));
        }
        final String traceId = traceId(printer.traceIdInMessages);
        if (traceId != null) {
            line.append(", trace_id=").append(traceId);
        }
        return line.append(", status ").append(printer.status.getCode()).toString();
    }

    /** The trace id the server reported: response headers first, then trailers, then the messages. */
    private String traceId(String fromMessages) {
        for (Metadata metadata : new Metadata[] {responseHeaders.get(), responseTrailers.get()}) {
            final String value = metadata == null ? null : metadata.get(TRACE_ID);
            if (value != null && !value.isEmpty()) {
                return value;
            }
        }
        return fromMessages == null || fromMessages.isEmpty() ? null : fromMessages;
    }

    private int failed(Status status) {
        final StringBuilder line = new StringBuilder("error: ").append(status.getCode());
        if (status.getDescription() != null) {
            line.append(": ").append(status.getDescription());
        }
        // Local failures (connection refused, no such socket) say what happened only in the cause.
        if (status.getCause() != null) {
            line.append(" (").append(describe(status.getCause())).append(')');
        }
        err.println(line);
        err.flush();
        return EXIT_CALL_FAILED;
    }

    /** The first message along the cause chain, else the innermost exception's class name. */
    private static String describe(Throwable t) {
        Throwable cause = t;
        while (cause.getMessage() == null && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    }

    private void printSorted(Map<String, String> entries) {
        new TreeMap<>(entries).forEach((key, value) -> out.println(key + "=" + value));
    }

    private static Metadata requestHeaders(CallArgs args) {
        final Metadata headers = new Metadata();
        if (args.token() != null) {
            headers.put(AUTHORIZATION, "Bearer " + args.token());
        }
        return headers;
    }

    private static <S extends AbstractStub<S>> S withDeadline(S stub, CallArgs args) {
        return args.deadlineMs() > 0 ? stub.withDeadlineAfter(args.deadlineMs(), TimeUnit.MILLISECONDS) : stub;
    }

    /** Writes each chunk as it arrives and remembers what the summary needs. */
    private static final class ChunkPrinter implements StreamObserver<StreamPredictResponse> {

        private final PrintStream out;
        private final CountDownLatch done = new CountDownLatch(1);
        // Written by gRPC's callback thread before done.countDown(), read after await().
        private int chunks;
        private boolean wroteText;
        private StreamPredictResponse last;
        private String traceIdInMessages;
        private Status status;

        ChunkPrinter(PrintStream out) {
            this.out = out;
        }

        @Override
        public void onNext(StreamPredictResponse response) {
            if (!response.getTraceId().isEmpty()) {
                traceIdInMessages = response.getTraceId();
            }
            if (response.getEndOfStream()) {
                last = response;
                return;
            }
            chunks++;
            if (!response.getChunk().isEmpty()) {
                out.print(response.getChunk());
                out.flush();
                wroteText = true;
            }
        }

        @Override
        public void onError(Throwable t) {
            status = Status.fromThrowable(t);
            done.countDown();
        }

        @Override
        public void onCompleted() {
            status = Status.OK;
            done.countDown();
        }

        void await() throws InterruptedException {
            done.await();
        }
    }
}
