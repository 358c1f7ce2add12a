package io.cy.coordinator.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NettyTransportTest {

    private static final String LEVEL_PROPERTY = "io.netty.leakDetection.level";

    private final ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
    private final String propertyBefore = System.getProperty(LEVEL_PROPERTY);

    @AfterEach
    void restore() {
        ResourceLeakDetector.setLevel(before);
        if (propertyBefore == null) {
            System.clearProperty(LEVEL_PROPERTY);
        } else {
            System.setProperty(LEVEL_PROPERTY, propertyBefore);
        }
    }

    @Test
    void leakDetectionIsTurnedOffWhenNobodyAskedForALevel() {
        System.clearProperty(LEVEL_PROPERTY);
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);

        NettyTransport.disableLeakDetectionUnlessAsked();

        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
    }

    @Test
    void anExplicitLevelIsKept() {
        System.setProperty(LEVEL_PROPERTY, "paranoid");
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);

        NettyTransport.disableLeakDetectionUnlessAsked();

        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
    }

    @ParameterizedTest
    @CsvSource({
            "io.netty.allocator.type, pooled, adaptive",
            "io.netty.trackPinnedMemory, false, true"})
    void theAllocatorsSettingsAreChosenWhenNobodyAskedForThem(String property, String chosen, String asked) {
        final String before = System.getProperty(property);
        try {
            System.clearProperty(property);
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(property)).isEqualTo(chosen);

            System.setProperty(property, asked);
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(property)).isEqualTo(asked);
        } finally {
            if (before == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, before);
            }
        }
    }

    @Test
    void eventLoopsListsEveryWorkerOnce() {
        try (NettyTransport transport = NettyTransport.create(3, "netty-transport-test")) {
            assertThat(transport.eventLoops()).hasSize(3).doesNotHaveDuplicates()
                    .allSatisfy(loop -> assertThat(loop.parent()).isSameAs(transport.workerGroup()));
        }
    }

    @Test
    void eventLoopsKeepTheirThreadAndAreNeverSuspended() {
        try (NettyTransport transport = NettyTransport.create(1, "netty-transport-test")) {
            final SingleThreadEventExecutor loop = (SingleThreadEventExecutor) transport.eventLoops().get(0);

            assertThat(loop.trySuspend()).isFalse();
            assertThat(loop.isSuspended()).isFalse();
            assertThat(loop.submit(() -> true)).succeedsWithin(Duration.ofSeconds(10));
        }
    }
}
