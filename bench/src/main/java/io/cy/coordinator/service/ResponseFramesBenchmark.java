package io.cy.coordinator.service;

import io.cy.coordinator.call.TraceIds;
import io.cy.llm.proto.StreamPredictResponse;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The coordinator's per-message work on a relayed response: the end-of-stream scan over the raw
 * bytes. In the coordinator's package (inside the bench module) because the class is package-private.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ResponseFramesBenchmark {

    private byte[] chunk;
    private byte[] last;

    @Setup
    public void setUp() {
        chunk = StreamPredictResponse.newBuilder()
                .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d")
                .setChunk("lorem ")
                .setIndex(7)
                .build()
                .toByteArray();
        last = StreamPredictResponse.newBuilder()
                .setTraceId("7f0c1a52-5a8e-4c1b-9a57-3f2d2c1e0b9d")
                .setEndOfStream(true)
                .setIndex(16)
                .setTtftMs(1.5f)
                .setTokensPerSec(420f)
                .build()
                .toByteArray();
    }

    @Benchmark
    public boolean dataChunk() {
        return ResponseFrames.isEndOfStream(chunk);
    }

    @Benchmark
    public boolean finalMessage() {
        return ResponseFrames.isEndOfStream(last);
    }

    /** A new trace id, made for every call whose client sent none. */
    @Benchmark
    public String newTraceId() {
        return TraceIds.newId();
    }
}
