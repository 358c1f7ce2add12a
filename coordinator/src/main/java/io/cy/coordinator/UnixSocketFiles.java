package io.cy.coordinator;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/** Socket files of Unix listeners: a stale one is replaced, a live one is never stolen. */
final class UnixSocketFiles {

    private UnixSocketFiles() {}

    /**
     * Makes {@code path} free to bind: removes a socket file that nothing listens on; refuses if
     * a process still listens there or the path is not a socket.
     */
    static void prepareForBind(Path path) throws IOException {
        final BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            final Path parent = path.getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new IOException(path + ": directory " + parent + " does not exist");
            }
            return;
        }
        if (!attributes.isOther()) {
            throw new IOException(path + ": exists and is not a socket; not replacing it");
        }
        if (isListening(path)) {
            throw new IOException(path + ": another process is listening on it");
        }
        Files.deleteIfExists(path);
    }

    static boolean isListening(Path path) {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // Best effort on shutdown; the next start replaces a stale file anyway.
        }
    }
}
