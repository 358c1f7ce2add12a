package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");

    @TempDir
    Path dir;

    @Test
    void eventsComeBackInOrderAcrossSegmentsWhichAreDeletedOnceCommitted() throws IOException {
        final List<AuditEvent> events = events(500);
        try (Spool spool = new Spool(dir, 1 << 20, 16 * 1024, true)) {
            for (int i = 0; i < events.size(); i += 50) {
                assertThat(spool.append(events.subList(i, i + 50))).isEqualTo(50);
            }
            assertThat(segments()).hasSizeGreaterThan(3);
            assertThat(spool.bytes()).isEqualTo(totalSize());

            assertThat(readAll(spool, 64)).isEqualTo(events);
            assertThat(spool.isEmpty()).isTrue();
            assertThat(spool.bytes()).isZero();
        }
        assertThat(segments()).isEmpty();
    }

    @Test
    void aBatchLargerThanTheKeptBufferIsSpooledWholeAndItsBufferNotKept() throws IOException {
        final AuditEvent large = AuditEvent.builder(AuditEvent.Kind.CALL).endTime(Instant.parse("2026-12-06T12:00:00Z"))
                .prompt("p".repeat(9 << 20), AuditConfig.StorePrompts.FULL).build();
        final List<AuditEvent> small = events(2);
        try (Spool spool = new Spool(dir, 64L << 20, true)) {
            assertThat(spool.append(List.of(large))).isEqualTo(1);
            // The next append starts from a buffer of the usual size, not the 9 MiB one.
            assertThat(spool.bufferBytes()).isLessThan(1 << 20);
            assertThat(spool.append(small)).isEqualTo(2);

            assertThat(readAll(spool, 64)).containsExactly(large, small.get(0), small.get(1));
        }
    }

    @Test
    void aReopenedSpoolReplaysWhatWasLeftAndAppendsAfterIt() throws IOException {
        final List<AuditEvent> events = events(30);
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            spool.append(events.subList(0, 20));
        }
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            assertThat(spool.isEmpty()).isFalse();
            spool.append(events.subList(20, 30));
            assertThat(readAll(spool, 7)).isEqualTo(events);
        }
    }

    @Test
    void aRewoundChunkIsReadAgain() throws IOException {
        final List<AuditEvent> events = events(10);
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            spool.append(events);
            final Spool.Chunk first = spool.read(4);
            spool.commit(first);
            final Spool.Chunk failed = spool.read(4);
            spool.rewind();
            final Spool.Chunk again = spool.read(4);
            assertThat(again.events).isEqualTo(failed.events).isEqualTo(events.subList(4, 8));
        }
    }

    @Test
    void aReaderThatStoppedInsideABatchReadsItsRestFromTheFileThenTakesTheNextFromMemory() throws IOException {
        final List<AuditEvent> events = events(20);
        try (Spool spool = new Spool(dir, 1 << 20, false)) {
            spool.append(events.subList(0, 10));
            spool.append(events.subList(10, 20));

            final Spool.Chunk first = spool.read(5);
            spool.commit(first);
            final Spool.Chunk rest = spool.read(64);
            spool.commit(rest);
            final Spool.Chunk next = spool.read(64);
            spool.commit(next);

            assertThat(first.events).isEqualTo(events.subList(0, 5));
            assertThat(first.fromFile).isTrue();
            assertThat(rest.events).as("the first batch's rest, up to where the second starts")
                    .isEqualTo(events.subList(5, 10));
            assertThat(rest.fromFile).isTrue();
            assertThat(next.events).isEqualTo(events.subList(10, 20));
            assertThat(next.fromFile).as("aligned again: the second batch as appended").isFalse();
        }
    }

    @Test
    void aReaderBehindTheBatchesKeptReadsTheFileUpToThemOnly() throws IOException {
        final List<AuditEvent> events = events(30);
        try (Spool spool = new Spool(dir, 1 << 20, false)) {
            for (int i = 0; i < 30; i += 3) {
                spool.append(events.subList(i, i + 3)); // ten batches; memory keeps the last eight
            }
            final List<Spool.Chunk> chunks = new ArrayList<>();
            Spool.Chunk chunk;
            while (!(chunk = spool.read(100)).isEmpty()) {
                chunks.add(chunk);
                spool.commit(chunk);
            }

            assertThat(chunks.get(0).events).isEqualTo(events.subList(0, 6));
            assertThat(chunks.get(0).fromFile).isTrue();
            assertThat(chunks.subList(1, chunks.size())).hasSize(8).allSatisfy(c -> {
                assertThat(c.events).hasSize(3);
                assertThat(c.fromFile).isFalse();
            });
            assertThat(chunks.stream().flatMap(c -> c.events.stream()).toList()).isEqualTo(events);
        }
    }

    @Test
    void aRecordCutShortByACrashEndsItsSegment() throws IOException {
        final List<AuditEvent> events = events(10);
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            spool.append(events);
        }
        final Path segment = segments().get(0);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 5);
        }
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            assertThat(readAll(spool, 100)).isEqualTo(events.subList(0, 9));
            assertThat(spool.isEmpty()).isTrue();
        }
        assertThat(segments()).isEmpty();
    }

    @Test
    void aRecordFailingItsChecksumEndsItsSegment() throws IOException {
        final List<AuditEvent> events = events(10);
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            spool.append(events.subList(0, 4));
        }
        final long corruptAt = Files.size(segments().get(0)) + Spool.FRAME_HEADER + 20;
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            spool.append(events.subList(4, 10));
        }
        // Both batches went to separate segments; corrupt the fifth record (first of the second).
        final Path second = segments().get(1);
        try (RandomAccessFile f = new RandomAccessFile(second.toFile(), "rw")) {
            final long at = corruptAt - Files.size(segments().get(0));
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ 0xFF);
        }
        try (Spool spool = new Spool(dir, 1 << 20, true)) {
            assertThat(readAll(spool, 100)).isEqualTo(events.subList(0, 4));
        }
    }

    @Test
    void theCapIsNeverPassed() throws IOException {
        final long cap = 64 * 1024;
        try (Spool spool = new Spool(dir, cap, false)) {
            int appended = 0;
            int last;
            do {
                last = spool.append(events(25));
                appended += last;
            } while (last == 25);
            assertThat(spool.bytes()).isLessThanOrEqualTo(cap).isEqualTo(totalSize());
            assertThat(spool.append(events(1))).isZero();
            assertThat(readAll(spool, 1000)).hasSize(appended);
        }
    }

    @Test
    void oneThreadAppendsWhileAnotherReadsAndCommitsAndEveryEventComesBackOnceInOrder() throws Exception {
        final List<AuditEvent> events = events(5_000);
        // A cap above all 5,000 events: the appender may run any distance ahead of the reader
        // (on a loaded machine it filled 1 MiB before the reader deleted a segment), and the cap
        // has its own test.
        final AtomicReference<Throwable> appendFailure = new AtomicReference<>();
        try (Spool spool = new Spool(dir, 64 << 20, 16 * 1024, false)) {
            final Thread appender = new Thread(() -> {
                try {
                    for (int i = 0; i < events.size(); i += 50) {
                        final int appended = spool.append(events.subList(i, i + 50));
                        if (appended != 50) {
                            throw new IllegalStateException("appended " + appended + " of 50 at event " + i);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    appendFailure.set(e);
                }
            }, "spool-appender");
            appender.start();
            final List<AuditEvent> read = new ArrayList<>();
            // Chunks of 64 and batches of 50: some chunks come from memory, some from the file.
            final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (read.size() < events.size() && appendFailure.get() == null && System.nanoTime() < deadline) {
                final Spool.Chunk chunk = spool.read(64);
                read.addAll(chunk.events);
                spool.commit(chunk);
            }
            appender.join();
            assertThat(appendFailure.get()).isNull();
            assertThat(read).isEqualTo(events);
            assertThat(readAll(spool, 64)).isEmpty();
            assertThat(spool.bytes()).isZero();
            assertThat(segments()).as("sealed segments deleted once read").hasSizeLessThanOrEqualTo(1);
        }
        assertThat(segments()).as("what is all committed is deleted at close").isEmpty();
    }

    @Test
    void aFullyCommittedActiveSegmentIsSealedAndDeletedOnceLargeEnough() throws IOException {
        final List<AuditEvent> events = events(100);
        try (Spool spool = new Spool(dir, 1L << 30, false)) {
            // Past the threshold, a batch at a time, each read and committed at once.
            do {
                spool.append(events);
                readAll(spool, 1000);
            } while (Files.size(segments().get(0)) < Spool.RECYCLE_BYTES);
            final Path first = segments().get(0);
            spool.append(events.subList(0, 1));
            assertThat(segments()).as("a new segment for the next append").hasSize(2).contains(first);
            readAll(spool, 1000);
            assertThat(segments()).as("the committed one deleted once read to its end").doesNotContain(first);
        }
    }

    @Test
    void oneProcessAtATime() throws IOException {
        final Spool held = new Spool(dir, 1 << 20, true);
        try {
            assertThatThrownBy(() -> new Spool(dir, 1 << 20, true))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("audit.spool_dir")
                    .hasMessageContaining("in use");
        } finally {
            held.close();
        }
        new Spool(dir, 1 << 20, true).close();
    }

    private static List<AuditEvent> readAll(Spool spool, int chunkSize) throws IOException {
        final List<AuditEvent> all = new ArrayList<>();
        while (true) {
            final Spool.Chunk chunk = spool.read(chunkSize);
            if (chunk.isEmpty()) {
                return all;
            }
            all.addAll(chunk.events);
            spool.commit(chunk);
        }
    }

    private static List<AuditEvent> events(int n) {
        final List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.add(Events.call("t" + i % 3, T0.plusMillis(i), i));
        }
        return events;
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(Spool.SUFFIX)).sorted().toList();
        }
    }

    private long totalSize() throws IOException {
        long total = 0;
        for (Path p : segments()) {
            total += Files.size(p);
        }
        return total;
    }
}
