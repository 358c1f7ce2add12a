package io.cy.coordinator.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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

    @Test
    void thePooledAllocatorIsChosenWhenNobodyAskedForOne() {
        final String before = System.getProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY);
        try {
            System.clearProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY);
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY)).isEqualTo("pooled");

            System.setProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY, "adaptive");
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY)).isEqualTo("adaptive");
        } finally {
            if (before == null) {
                System.clearProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY);
            } else {
                System.setProperty(NettyTransport.ALLOCATOR_TYPE_PROPERTY, before);
            }
        }
    }

    @Test
    void pinnedMemoryIsNotCountedUnlessAsked() {
        final String before = System.getProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY);
        try {
            System.clearProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY);
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY)).isEqualTo("false");

            System.setProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY, "true");
            NettyTransport.usePooledAllocatorUnlessAsked();
            assertThat(System.getProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY)).isEqualTo("true");
        } finally {
            if (before == null) {
                System.clearProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY);
            } else {
                System.setProperty(NettyTransport.TRACK_PINNED_MEMORY_PROPERTY, before);
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
}
