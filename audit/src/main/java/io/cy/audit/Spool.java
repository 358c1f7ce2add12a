package io.cy.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal: every batch of events is appended here, forced to disk, before anything tries to
 * write it to the database; the database sink reads it back in order and commits what the
 * database has taken. While the database is away the journal grows (up to
 * {@code audit.spool_max_bytes}), and it is what a restart replays.
 *
 * <p>A segment is a sequence of records, each framed as a 4-byte length, the 4-byte CRC32C of the
 * payload, and the payload ({@link EventCodec}), all big-endian. New records go to the active
 * segment, which is sealed when it passes the segment size, or once everything in it is committed
 * and it has grown past {@value #RECYCLE_BYTES} bytes, so that a crash leaves little already
 * written to replay. {@link #read} takes records from the oldest segment, up to what has been
 * appended to it in full; a segment is deleted once it is sealed and every record in it has been
 * {@link #commit committed}. A crash between the insert and the commit, or before a committed
 * segment is deleted, replays records the table already holds, which the insert ignores by event id.
 *
 * <p>Segments left by an earlier process are found at start and replayed first; new records never
 * go into them. A record cut short by a crash, or failing its checksum, ends its segment: what
 * follows it is skipped with a warning naming the segment and how many bytes.
 *
 * <p>One thread appends and one other thread reads, commits and rewinds; they share only the
 * list of segments and their sizes, under this object's lock, which no file I/O holds. The most
 * recent batches are also kept in memory, a few at a time, so that while the database keeps up
 * the reader hands them on without decoding them from the file. The directory is locked for one
 * process at a time. {@link #bytes()} may be read from any thread.
 */
final class Spool implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Spool.class);

    static final String SUFFIX = ".spool";
    static final int FRAME_HEADER = 8;
    /** A record longer than this is taken as corruption of its length field. */
    static final int MAX_RECORD_BYTES = 64 << 20;
    /** A fully committed active segment this large is sealed (and deleted) before the next append. */
    static final long RECYCLE_BYTES = 4L << 20;
    private static final int MAX_KEPT_BUFFER = 8 << 20;
    /** Recent batches kept in memory for the reader. */
    private static final int RECENT_BATCHES = 8;

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final boolean fsync;
    private final FileChannel lockChannel;
    private final FileLock lock;

    // Under this object's lock: the segments, oldest first, the last one active unless sealed.
    private final Deque<Segment> segments = new ArrayDeque<>();
    private final Deque<Batch> recent = new ArrayDeque<>();
    private long nextSegment;
    /** Bytes in segment files, committed or not: what the cap applies to. */
    private volatile long onDisk;
    /** Bytes of records not yet committed. */
    private volatile long backlog;

    // Appending thread only.
    private EventCodec.Sink sink = new EventCodec.Sink(64 * 1024);
    private final RepeatedText repeated = new RepeatedText(EventCodec.REPEATED_FIELDS, false);
    private final CRC32C crc = new CRC32C();
    private FileChannel active;
    private Segment activeSegment;

    // Reading thread only.
    private Reader reader;

    Spool(Path dir, long maxBytes, boolean fsync) throws IOException {
        this(dir, maxBytes, segmentBytesFor(maxBytes), fsync);
    }

    Spool(Path dir, long maxBytes, long segmentBytes, boolean fsync) throws IOException {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segmentBytes = segmentBytes;
        this.fsync = fsync;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("audit.spool_dir: cannot create " + dir + ": " + e.getMessage(), e);
        }
        this.lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock acquired;
        try {
            acquired = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            acquired = null;
        }
        if (acquired == null) {
            lockChannel.close();
            throw new IOException("audit.spool_dir: " + dir + " is in use by another audit log");
        }
        this.lock = acquired;
        final List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "audit-*" + SUFFIX)) {
            files.forEach(found::add);
        }
        found.sort(null);
        long total = 0;
        long last = 0;
        for (Path p : found) {
            final long size = Files.size(p);
            total += size;
            last = Math.max(last, sequenceOf(p));
            final Segment s = new Segment(p);
            s.size = size;
            s.sealed = true;
            segments.add(s);
        }
        this.onDisk = total;
        this.backlog = total;
        this.nextSegment = last + 1;
        if (!found.isEmpty()) {
            logger.info("audit: spool {} holds {} segment(s), {} bytes, from an earlier run; replaying them "
                    + "once the database is reachable", dir, found.size(), total);
        }
    }

    /** Segments of an eighth of the cap, between 4 KiB and 64 MiB: space is freed a segment at a time. */
    static long segmentBytesFor(long maxBytes) {
        return Math.max(4096, Math.min(64L << 20, maxBytes / 8));
    }

    /** The size of the buffer appends are encoded into, kept between appends. Appending thread only (tests). */
    int bufferBytes() {
        return sink.array().length;
    }

    /** Bytes of records not yet committed to the database, including those read but not committed. */
    long bytes() {
        return backlog;
    }

    long maxBytes() {
        return maxBytes;
    }

    Path dir() {
        return dir;
    }

    /** Nothing left to commit. */
    boolean isEmpty() {
        return backlog == 0;
    }

    /**
     * Appends as many of {@code events}, from the first on, as fit under the cap, in one write
     * forced to disk when configured. Appending thread only.
     *
     * @return how many were appended: fewer than all only when the spool is at its cap
     * @throws IOException when the write fails; nothing of the batch is left behind then
     */
    int append(List<AuditEvent> events) throws IOException {
        final long room = maxBytes - onDisk;
        sink.reset();
        int fitting = 0;
        int fittingBytes = 0;
        for (AuditEvent e : events) {
            final int header = sink.skipInt();
            sink.skipInt();
            EventCodec.encode(e, sink, repeated);
            final int length = sink.size() - header - FRAME_HEADER;
            crc.reset();
            crc.update(sink.array(), header + FRAME_HEADER, length);
            sink.putInt(header, length);
            sink.putInt(header + 4, (int) crc.getValue());
            if (sink.size() > room) {
                break;
            }
            fitting++;
            fittingBytes = sink.size();
        }
        try {
            if (fitting > 0) {
                write(fittingBytes, List.copyOf(events.subList(0, fitting)));
            }
            return fitting;
        } finally {
            if (sink.array().length > MAX_KEPT_BUFFER) {
                // A batch of large prompts: do not hold on to its buffer.
                sink = new EventCodec.Sink(64 * 1024);
            }
        }
    }

    private void write(int length, List<AuditEvent> events) throws IOException {
        if (active != null && shouldSeal(length)) {
            active.close();
            active = null;
        }
        if (active == null) {
            openActive();
        }
        final Segment segment = activeSegment;
        final long start = segment.size;
        final ByteBuffer buffer = ByteBuffer.wrap(sink.array(), 0, length);
        try {
            while (buffer.hasRemaining()) {
                active.write(buffer);
            }
            if (fsync) {
                active.force(false);
            }
        } catch (IOException e) {
            undoPartialWrite();
            throw e;
        }
        synchronized (this) {
            segment.size += length;
            onDisk += length;
            backlog += length;
            recent.addLast(new Batch(segment, start, start + length, events));
            if (recent.size() > RECENT_BATCHES) {
                recent.removeFirst();
            }
        }
    }

    /**
     * Up to {@code max} of the oldest events not yet committed, or an empty chunk when there are none.
     * Call {@link #commit} once they are in the database, or {@link #rewind} if they could not be written.
     * Reading thread only.
     */
    Chunk read(int max) throws IOException {
        final long size;
        long limit;
        final boolean sealed;
        Batch kept = null;
        synchronized (this) {
            final Segment head = segments.peekFirst();
            if (head == null) {
                return Chunk.EMPTY;
            }
            if (reader == null || reader.segment != head) {
                if (reader != null) {
                    reader.close();
                }
                reader = new Reader(head);
            }
            size = head.size;
            limit = size;
            sealed = head.sealed;
            for (Batch b : recent) {
                if (b.segment != head || b.end <= reader.position) {
                    continue;
                }
                if (b.start == reader.position && b.events.size() <= max) {
                    kept = b;
                } else {
                    // Behind the batches kept, or inside one (chunks read from the file need not end
                    // where batches do): read from the file up to a kept batch's start, so that
                    // the reads after this one are handed on from memory again.
                    limit = b.start > reader.position ? b.start : b.end;
                }
                break;
            }
        }
        if (kept != null) {
            reader.position = kept.end;
            return new Chunk(kept.events, kept.start, kept.end, sealed && kept.end == size, false);
        }
        return reader.read(max, limit, sealed && limit == size);
    }

    /** The events of {@code chunk} are in the database: its segment goes once all of it is. Reading thread only. */
    void commit(Chunk chunk) throws IOException {
        if (reader == null || chunk == Chunk.EMPTY) {
            return;
        }
        final Segment segment = reader.segment;
        Path delete = null;
        synchronized (this) {
            backlog -= chunk.end - segment.committed;
            segment.committed = chunk.end;
            while (!recent.isEmpty() && recent.peekFirst().segment == segment
                    && recent.peekFirst().end <= chunk.end) {
                recent.removeFirst();
            }
            if (chunk.endOfSegment) {
                segments.removeFirst();
                delete = segment.path;
            }
        }
        if (delete != null) {
            reader.close();
            reader = null;
            final long size = Files.size(delete);
            Files.delete(delete);
            synchronized (this) {
                onDisk -= size;
            }
        }
    }

    /** The last chunk was not written: the next {@link #read} starts again where the last commit ended. */
    void rewind() {
        if (reader != null) {
            reader.close();
            reader.position = reader.segment.committed;
        }
    }

    /** Closes the files, deleting the segments all of whose records are committed. Neither thread may use it any more. */
    @Override
    public void close() throws IOException {
        try {
            if (reader != null) {
                reader.close();
            }
            if (active != null) {
                if (fsync) {
                    active.force(false);
                }
                active.close();
                active = null;
            }
            for (Segment s : segments) {
                if (s.committed == s.size && s.size == Files.size(s.path)) {
                    Files.deleteIfExists(s.path);
                }
            }
        } finally {
            lock.release();
            lockChannel.close();
        }
    }

    private void openActive() throws IOException {
        final Path path = dir.resolve(String.format("audit-%020d%s", nextSegment++, SUFFIX));
        active = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        activeSegment = new Segment(path);
        if (fsync) {
            // The new file's directory entry must survive a crash too.
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException e) {
                logger.debug("audit: cannot sync directory {}: {}", dir, e.toString());
            }
        }
        synchronized (this) {
            segments.addLast(activeSegment);
        }
    }

    /**
     * Seals the active segment if {@code length} more bytes would pass the segment size, or if all
     * of it is committed and it is large enough to be worth deleting. The reader finds a sealed
     * segment's end and deletes it once committed.
     */
    private synchronized boolean shouldSeal(int length) {
        final Segment s = activeSegment;
        if (s.size > 0 && (s.size + length > segmentBytes || (s.committed == s.size && s.size >= RECYCLE_BYTES))) {
            s.sealed = true;
            activeSegment = null;
            return true;
        }
        return false;
    }

    private void undoPartialWrite() {
        try {
            active.truncate(activeSegment.size);
        } catch (IOException e) {
            // Could not cut the torn record off: seal the segment; the reader never goes past its
            // last whole record, and the segment's file size is what is freed when it is deleted.
            logger.warn("audit: cannot truncate spool segment {} after a failed write: {}", activeSegment.path,
                    e.toString());
            try {
                active.close();
            } catch (IOException ignored) {
                // Already failing.
            }
            synchronized (this) {
                onDisk += Math.max(0, activeSegment.path.toFile().length() - activeSegment.size);
                activeSegment.sealed = true;
                active = null;
                activeSegment = null;
            }
        }
    }

    private static long sequenceOf(Path p) {
        final String name = p.getFileName().toString();
        try {
            return Long.parseLong(name.substring("audit-".length(), name.length() - SUFFIX.length()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Events read from one segment, and where reading stopped. */
    static final class Chunk {
        static final Chunk EMPTY = new Chunk(List.of(), 0, 0, false, false);

        final List<AuditEvent> events;
        /** Where its records start and end in the segment. */
        final long start;
        final long end;
        final boolean endOfSegment;
        /** Read back from the segment's file, rather than handed on as appended. */
        final boolean fromFile;

        Chunk(List<AuditEvent> events, long start, long end, boolean endOfSegment, boolean fromFile) {
            this.events = events;
            this.start = start;
            this.end = end;
            this.endOfSegment = endOfSegment;
            this.fromFile = fromFile;
        }

        boolean isEmpty() {
            return events.isEmpty() && !endOfSegment;
        }
    }

    /** One segment file; its fields are under the spool's lock. */
    private static final class Segment {
        final Path path;
        /** Bytes of whole records appended. */
        long size;
        /** Bytes of records committed, from the start. */
        long committed;
        /** No more appends: read to its end, it is deleted. */
        boolean sealed;

        Segment(Path path) {
            this.path = path;
        }
    }

    /** A batch as appended, and where its records lie. */
    private record Batch(Segment segment, long start, long end, List<AuditEvent> events) {}

    /** Reads records from the oldest segment, from the last committed position on. */
    private final class Reader {
        final Segment segment;
        final Path path;
        long position;
        private FileChannel channel;
        private final ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER);
        private final CRC32C check = new CRC32C();

        Reader(Segment segment) {
            this.segment = segment;
            this.path = segment.path;
            this.position = segment.committed;
        }

        /** Records up to {@code size}, the bytes of whole records appended so far. */
        Chunk read(int max, long size, boolean sealed) throws IOException {
            if (channel == null) {
                channel = FileChannel.open(path, StandardOpenOption.READ);
            }
            channel.position(position);
            final long start = position;
            final List<AuditEvent> events = new ArrayList<>(Math.min(max, 1024));
            while (events.size() < max && position < size) {
                final AuditEvent e = readRecord(size);
                if (e == null) {
                    break;
                }
                events.add(e);
            }
            return new Chunk(events, start, position, sealed && position >= size, true);
        }

        /** The next record, or null when the rest of the segment is unreadable (logged). */
        private AuditEvent readRecord(long size) throws IOException {
            final long start = position;
            if (size - start < FRAME_HEADER) {
                return skipRest(start, size, "a record cut short");
            }
            header.clear();
            readFully(header);
            final int length = header.getInt(0);
            final int expectedCrc = header.getInt(4);
            if (length <= 0 || length > MAX_RECORD_BYTES || length > size - start - FRAME_HEADER) {
                return skipRest(start, size, length > size - start - FRAME_HEADER && length > 0
                        && length <= MAX_RECORD_BYTES ? "a record cut short" : "a bad record length");
            }
            final ByteBuffer payload = ByteBuffer.allocate(length);
            readFully(payload);
            check.reset();
            check.update(payload.array(), 0, length);
            if ((int) check.getValue() != expectedCrc) {
                return skipRest(start, size, "a record failing its checksum");
            }
            payload.flip();
            try {
                final AuditEvent e = EventCodec.decode(payload);
                position = start + FRAME_HEADER + length;
                return e;
            } catch (IllegalArgumentException e) {
                return skipRest(start, size, "an undecodable record (" + e.getMessage() + ")");
            }
        }

        private AuditEvent skipRest(long start, long size, String what) {
            logger.warn("audit: spool segment {} has {} at byte {}; skipping its last {} bytes", path, what, start,
                    size - start);
            position = size;
            return null;
        }

        private void readFully(ByteBuffer buffer) throws IOException {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer) < 0) {
                    throw new IOException("spool segment " + path + " shrank while being read");
                }
            }
        }

        void close() {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Read-only.
                }
                channel = null;
            }
        }
    }
}
