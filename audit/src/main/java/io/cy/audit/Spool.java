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
 * Events the database could not take yet, in local append-only segment files, oldest first.
 *
 * <p>A segment is a sequence of records, each framed as a 4-byte length, the 4-byte CRC32C of the
 * payload, and the payload ({@link EventCodec}), all big-endian. New records go to the active
 * segment, which is rotated when it passes the segment size; {@link #read} takes records from the
 * oldest sealed segment (sealing the active one when it is the only one left), and a segment is
 * deleted only once every record read from it has been {@link #commit committed} to the database.
 * A crash between the commit and the delete replays records the table already holds, which the
 * insert ignores by event id.
 *
 * <p>Segments left by an earlier process are found at start and replayed first; new records never
 * go into them. A record cut short by a crash, or failing its checksum, ends its segment: what
 * follows it is skipped with a warning naming the segment and how many bytes.
 *
 * <p>The directory is locked for one process at a time. Used by the writer thread only; {@link #bytes()}
 * may be read from any thread.
 */
final class Spool implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Spool.class);

    static final String SUFFIX = ".spool";
    static final int FRAME_HEADER = 8;
    /** A record longer than this is taken as corruption of its length field. */
    static final int MAX_RECORD_BYTES = 64 << 20;
    private static final int MAX_KEPT_BUFFER = 8 << 20;

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final boolean fsync;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Deque<Path> sealed = new ArrayDeque<>();
    private EventCodec.Sink sink = new EventCodec.Sink(64 * 1024);
    private final CRC32C crc = new CRC32C();

    private volatile long bytes;
    private long nextSegment;
    private FileChannel active;
    private Path activePath;
    private long activeSize;

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
            total += Files.size(p);
            last = Math.max(last, sequenceOf(p));
            sealed.add(p);
        }
        this.bytes = total;
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

    /** Bytes on disk, including records already read but not yet committed. */
    long bytes() {
        return bytes;
    }

    long maxBytes() {
        return maxBytes;
    }

    Path dir() {
        return dir;
    }

    boolean isEmpty() {
        return sealed.isEmpty() && activeSize == 0;
    }

    /**
     * Appends as many of {@code events}, from the first on, as fit under the cap, in one write
     * forced to disk when configured.
     *
     * @return how many were appended: fewer than all only when the spool is at its cap
     * @throws IOException when the write fails; nothing of the batch is left behind then
     */
    int append(List<AuditEvent> events) throws IOException {
        final long room = maxBytes - bytes;
        sink.reset();
        int fitting = 0;
        int fittingBytes = 0;
        for (AuditEvent e : events) {
            final int header = sink.skipInt();
            sink.skipInt();
            EventCodec.encode(e, sink);
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
                write(fittingBytes);
            }
            return fitting;
        } finally {
            if (sink.array().length > MAX_KEPT_BUFFER) {
                // A batch of large prompts: do not hold on to its buffer.
                sink = new EventCodec.Sink(64 * 1024);
            }
        }
    }

    private void write(int length) throws IOException {
        if (active != null && activeSize > 0 && activeSize + length > segmentBytes) {
            sealActive();
        }
        if (active == null) {
            openActive();
        }
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
        activeSize += length;
        bytes += length;
    }

    /**
     * Up to {@code max} of the oldest events not yet committed, or an empty chunk when there are none.
     * Call {@link #commit} once they are in the database, or {@link #rewind} if they could not be written.
     */
    Chunk read(int max) throws IOException {
        if (reader == null) {
            if (sealed.isEmpty()) {
                if (activeSize == 0) {
                    return Chunk.EMPTY;
                }
                sealActive();
            }
            reader = new Reader(sealed.peekFirst());
        }
        return reader.read(max);
    }

    /** The events of {@code chunk} are in the database: its segment goes once all of it is. */
    void commit(Chunk chunk) throws IOException {
        if (reader == null || chunk == Chunk.EMPTY) {
            return;
        }
        reader.committed = chunk.end;
        if (chunk.endOfSegment) {
            final Path done = reader.path;
            reader.close();
            reader = null;
            sealed.removeFirst();
            final long size = Files.size(done);
            Files.delete(done);
            bytes -= size;
        }
    }

    /** The last chunk was not written: the next {@link #read} starts again where the last commit ended. */
    void rewind() {
        if (reader != null) {
            reader.close();
            reader.position = reader.committed;
        }
    }

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
                if (activeSize == 0) {
                    Files.deleteIfExists(activePath);
                }
            }
        } finally {
            lock.release();
            lockChannel.close();
        }
    }

    private void openActive() throws IOException {
        activePath = dir.resolve(String.format("audit-%020d%s", nextSegment++, SUFFIX));
        active = FileChannel.open(activePath, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        activeSize = 0;
        if (fsync) {
            // The new file's directory entry must survive a crash too.
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException e) {
                logger.debug("audit: cannot sync directory {}: {}", dir, e.toString());
            }
        }
    }

    private void sealActive() throws IOException {
        if (active == null) {
            return;
        }
        active.close();
        active = null;
        if (activeSize == 0) {
            Files.deleteIfExists(activePath);
        } else {
            sealed.addLast(activePath);
        }
        activeSize = 0;
    }

    private void undoPartialWrite() {
        try {
            active.truncate(activeSize);
        } catch (IOException e) {
            // Could not cut the torn record off: seal the segment, reading stops at the torn record.
            logger.warn("audit: cannot truncate spool segment {} after a failed write: {}", activePath, e.toString());
            try {
                active.close();
            } catch (IOException ignored) {
                // Already failing.
            }
            final long onDisk = activePath.toFile().length();
            bytes += Math.max(0, onDisk - activeSize);
            sealed.addLast(activePath);
            active = null;
            activeSize = 0;
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
        static final Chunk EMPTY = new Chunk(List.of(), 0, false);

        final List<AuditEvent> events;
        final long end;
        final boolean endOfSegment;

        Chunk(List<AuditEvent> events, long end, boolean endOfSegment) {
            this.events = events;
            this.end = end;
            this.endOfSegment = endOfSegment;
        }

        boolean isEmpty() {
            return events.isEmpty() && !endOfSegment;
        }
    }

    /** Reads records from one sealed segment, from the last committed position on. */
    private final class Reader {
        final Path path;
        long committed;
        long position;
        private FileChannel channel;
        private final ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER);
        private final CRC32C check = new CRC32C();

        Reader(Path path) {
            this.path = path;
        }

        Chunk read(int max) throws IOException {
            if (channel == null) {
                channel = FileChannel.open(path, StandardOpenOption.READ);
                channel.position(position);
            }
            final long size = channel.size();
            final List<AuditEvent> events = new ArrayList<>(Math.min(max, 1024));
            while (events.size() < max) {
                if (position == size) {
                    return new Chunk(events, position, true);
                }
                final AuditEvent e = readRecord(size);
                if (e == null) {
                    return new Chunk(events, position, true);
                }
                events.add(e);
            }
            return new Chunk(events, position, position == size);
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
