package io.cy.coordinator.interop;

import io.grpc.testing.integration.AbstractInteropTest;
import java.util.List;

/**
 * One case of grpc-java's interop suite, named as the suite's test client names it, run on a
 * set-up {@link AbstractInteropTest}. The suite's classes are JUnit 4; the cases are called here
 * directly so that each runs as a test of its own under JUnit 5.
 */
record InteropCase(String name, Body body) {

    @FunctionalInterface
    interface Body {
        void run(AbstractInteropTest test) throws Exception;
    }

    /** The cases a client and a server both take part in: run against a server, and from a client. */
    static final List<InteropCase> CALLS = List.of(
            new InteropCase("empty_unary", AbstractInteropTest::emptyUnary),
            new InteropCase("large_unary", AbstractInteropTest::largeUnary),
            new InteropCase("client_streaming", AbstractInteropTest::clientStreaming),
            new InteropCase("server_streaming", AbstractInteropTest::serverStreaming),
            new InteropCase("ping_pong", AbstractInteropTest::pingPong),
            new InteropCase("empty_stream", AbstractInteropTest::emptyStream),
            new InteropCase("cancel_after_begin", AbstractInteropTest::cancelAfterBegin),
            new InteropCase("cancel_after_first_response", AbstractInteropTest::cancelAfterFirstResponse),
            new InteropCase("timeout_on_sleeping_server", AbstractInteropTest::timeoutOnSleepingServer),
            new InteropCase("custom_metadata", AbstractInteropTest::customMetadata),
            new InteropCase("status_code_and_message", AbstractInteropTest::statusCodeAndMessage),
            new InteropCase("special_status_message", AbstractInteropTest::specialStatusMessage),
            new InteropCase("very_large_request", AbstractInteropTest::veryLargeRequest));

    /** The cases where the server answers for what it does not serve. */
    static final List<InteropCase> UNIMPLEMENTED = List.of(
            new InteropCase("unimplemented_method", AbstractInteropTest::unimplementedMethod),
            new InteropCase("unimplemented_service", AbstractInteropTest::unimplementedService));

    /**
     * The compressed cases. The client ones run without the suite's first probe (a request saying
     * it expects compression, sent uncompressed, refused with INVALID_ARGUMENT): that check is made
     * by the test services of other languages, not by grpc-java's {@code TestServiceImpl}, which
     * grpc-java's own suite runs with the probe off too.
     */
    static final List<InteropCase> COMPRESSED = List.of(
            new InteropCase("client_compressed_unary", test -> test.clientCompressedUnary(false)),
            new InteropCase("client_compressed_streaming", test -> test.clientCompressedStreaming(false)),
            new InteropCase("server_compressed_unary", AbstractInteropTest::serverCompressedUnary),
            new InteropCase("server_compressed_streaming", AbstractInteropTest::serverCompressedStreaming));

    @Override
    public String toString() {
        return name;
    }
}
