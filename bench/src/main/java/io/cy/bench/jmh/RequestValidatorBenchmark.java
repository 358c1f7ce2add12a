package io.cy.bench.jmh;

import io.cy.bench.load.LoadPlan;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.service.RequestValidator;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Request validation, run on the first message of every StreamPredict call. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RequestValidatorBenchmark {

    private RequestValidator validator;
    private StreamPredictRequest typical;
    private StreamPredictRequest tooManyTokens;

    @Setup
    public void setUp() {
        validator = new RequestValidator(ConfigLoader.load(null, Map.of()).config().limits());
        // What the benchmarks' load sends, plus a client trace id: every check runs to the end.
        typical = LoadPlan.request("sim", 64, 16, Map.of()).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d"))
                .build();
        tooManyTokens = typical.toBuilder()
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(100_000))
                .build();
    }

    /** A valid request: null, no allocation expected. */
    @Benchmark
    public Status valid() {
        return validator.validate(typical);
    }

    /** A rejected one: builds the message that names the field and the limit. */
    @Benchmark
    public Status invalid() {
        return validator.validate(tooManyTokens);
    }
}
