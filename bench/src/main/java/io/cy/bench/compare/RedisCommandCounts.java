package io.cy.bench.compare;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How many commands a Redis has processed, read from {@code INFO stats} and {@code INFO
 * commandstats} over a plain socket (RESP), so that a run's commands per call are the difference
 * of two readings. Counts the whole server: other clients' commands count too.
 *
 * @param total {@code total_commands_processed}
 * @param scripts calls of {@code EVALSHA} and {@code EVAL}: one round trip each
 */
record RedisCommandCounts(long total, long scripts) {

    private static final int TIMEOUT_MILLIS = 5_000;
    /** Far more than INFO answers; a reply longer than this is not a Redis we understand. */
    private static final int MAX_REPLY_BYTES = 1 << 20;

    /** The counts now, from the Redis of {@code url} ({@code redis://[user:password@]host[:port][/db]}). */
    static RedisCommandCounts read(String url) throws IOException {
        final URI uri = URI.create(url);
        if (!"redis".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IOException("--quota-redis: " + url.replaceAll("//[^@/]*@", "//***@")
                    + " (expected: redis://host:port/db to read its command counts)");
        }
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort()),
                    TIMEOUT_MILLIS);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            final OutputStream out = socket.getOutputStream();
            final InputStream in = socket.getInputStream();
            if (uri.getRawUserInfo() != null) {
                final String[] parts = uri.getRawUserInfo().split(":", 2);
                final List<String> auth = new ArrayList<>(List.of("AUTH"));
                if (parts.length == 2 && !parts[0].isEmpty()) {
                    auth.add(URLDecoder.decode(parts[0], StandardCharsets.UTF_8));
                }
                auth.add(URLDecoder.decode(parts[parts.length - 1], StandardCharsets.UTF_8));
                send(out, auth);
                reply(in);
            }
            send(out, List.of("INFO", "stats"));
            final String stats = reply(in);
            send(out, List.of("INFO", "commandstats"));
            final String commands = reply(in);
            return new RedisCommandCounts(field(stats, "total_commands_processed:"),
                    calls(commands, "cmdstat_evalsha:") + calls(commands, "cmdstat_eval:"));
        }
    }

    /** The counts of {@code after} less those of this reading. */
    RedisCommandCounts until(RedisCommandCounts after) {
        return new RedisCommandCounts(after.total - total, after.scripts - scripts);
    }

    private static void send(OutputStream out, List<String> words) throws IOException {
        final StringBuilder command = new StringBuilder("*").append(words.size()).append("\r\n");
        for (String word : words) {
            command.append('$').append(word.getBytes(StandardCharsets.UTF_8).length).append("\r\n")
                    .append(word).append("\r\n");
        }
        out.write(command.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** One reply: a simple string, or a bulk string's text; an error reply throws. */
    private static String reply(InputStream in) throws IOException {
        final String first = line(in);
        if (first.startsWith("-")) {
            throw new IOException("Redis answered " + first);
        }
        if (!first.startsWith("$")) {
            return first.substring(1);
        }
        final int length = Integer.parseInt(first.substring(1));
        if (length < 0 || length > MAX_REPLY_BYTES) {
            throw new IOException("Redis answered a bulk of " + length + " bytes (expected: 0 to " + MAX_REPLY_BYTES + ")");
        }
        final byte[] bulk = in.readNBytes(length + 2);
        if (bulk.length != length + 2) {
            throw new IOException("Redis closed the connection in the middle of a reply");
        }
        return new String(bulk, 0, length, StandardCharsets.UTF_8);
    }

    private static String line(InputStream in) throws IOException {
        final ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                throw new IOException("Redis closed the connection");
            }
            if (line.size() > MAX_REPLY_BYTES) {
                throw new IOException("Redis answered a line longer than " + MAX_REPLY_BYTES + " bytes");
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    /** {@code name} followed by a number, on a line of its own; 0 when absent. */
    static long field(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.substring(name.length()).trim());
            }
        }
        return 0;
    }

    /** The {@code calls=} of a commandstats line such as {@code cmdstat_evalsha:calls=12,usec=...}; 0 when absent. */
    static long calls(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name + "calls=")) {
                final String rest = line.substring(name.length() + "calls=".length());
                final int comma = rest.indexOf(',');
                return Long.parseLong(comma < 0 ? rest.trim() : rest.substring(0, comma));
            }
        }
        return 0;
    }
}
