package io.cy.bench.jmh;

import io.cy.bench.routing.IdleSidecars;
import io.cy.coordinator.sidecar.BackendQueue;
import io.cy.coordinator.sidecar.CapacitySettings;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.SidecarRouter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What capacity costs a call while its backend's queue is empty: a call takes a slot on one of 4
 * sidecars and gives it back, the way the forwarder does (the queue's depth read, the pick, the
 * slot counted, its release telling the queue), with {@code max_inflight} 8 against no limit.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class QueueBenchmark {

    private IdleSidecars fixtures;
    private SidecarPool limited;
    private SidecarPool unlimited;
    private List<Sidecar> limitedMembers;
    private List<Sidecar> unlimitedMembers;
    private BackendQueue limitedQueue;
    private BackendQueue unlimitedQueue;
    private final SidecarRouter router = new LeastInFlightRouter();

    @Setup(Level.Trial)
    public void setUp() {
        fixtures = new IdleSidecars();
        limitedMembers = fixtures.make(4);
        unlimitedMembers = fixtures.make(4);
        limited = new SidecarPool(Map.of("gpu-a", limitedMembers), router);
        unlimited = new SidecarPool(Map.of("gpu-a", unlimitedMembers), router);
        limited.applyCapacity("gpu-a", new CapacitySettings(8, Duration.ofSeconds(5), 1024));
        limitedQueue = limited.queue("gpu-a");
        unlimitedQueue = unlimited.queue("gpu-a");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        limited.close(Duration.ofSeconds(1));
        unlimited.close(Duration.ofSeconds(1));
        fixtures.close();
    }

    @Benchmark
    public Sidecar noLimit() {
        return call(unlimited, unlimitedMembers, unlimitedQueue);
    }

    @Benchmark
    public Sidecar maxInflightWithEmptyQueue() {
        return call(limited, limitedMembers, limitedQueue);
    }

    private Sidecar call(SidecarPool pool, List<Sidecar> members, BackendQueue queue) {
        if (queue.settings().isLimited() && queue.depth() > 0) {
            throw new IllegalStateException("the queue must stay empty");
        }
        final Sidecar sidecar = pool.acquire(router, members, List.of(), RoutingKey.NONE);
        sidecar.release();
        return sidecar;
    }
}
