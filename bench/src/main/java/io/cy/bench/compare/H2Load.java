package io.cy.bench.compare;

import io.cy.llm.proto.StreamPredictRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * h2load (nghttp2's HTTP/2 load generator, written in C, Debian's {@code nghttp2-client}) as a
 * second load generator, independent of the project's own: the same StreamPredict call posted
 * again and again on a few connections with several streams each. It reads no gRPC status, so
 * the statuses are counted on the target's side.
 */
final class H2Load {

    static final String PATH = "/cy.llm.AiInference/StreamPredict";
    /** How long past the run's own length h2load may take to stop before it counts as hung. */
    private static final Duration STOP_MARGIN = Duration.ofSeconds(30);

    private final Path binary;

    H2Load(Path binary) {
        this.binary = binary;
    }

    /** The h2load binary on the PATH or in /usr/bin, /usr/local/bin. */
    static Optional<H2Load> find() {
        return Executables.find("h2load", List.of("/usr/bin", "/usr/local/bin")).map(H2Load::new);
    }

    /** What {@code h2load --version} says, e.g. "h2load nghttp2/1.52.0". */
    String version() {
        try {
            final Process process = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
            final String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            process.waitFor(10, TimeUnit.SECONDS);
            return text.isEmpty() ? "h2load" : text.lines().findFirst().orElse("h2load");
        } catch (IOException e) {
            return "h2load";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "h2load";
        }
    }

    /** Writes the request body: one gRPC-framed message (flag 0, big-endian length, the bytes). */
    static Path writeRequest(Path file, StreamPredictRequest request) throws IOException {
        final byte[] message = request.toByteArray();
        final ByteBuffer framed = ByteBuffer.allocate(5 + message.length);
        framed.put((byte) 0).putInt(message.length).put(message);
        Files.write(file, framed.array());
        return file;
    }

    /**
     * The command: {@code connections} connections with {@code streams} streams at a time each,
     * for {@code duration}, POSTing {@code body} with gRPC's headers; under bash, whose
     * {@code times} then prints h2load's CPU time.
     *
     * @param token the bearer token every call carries; null for none
     */
    List<String> command(int connections, int streams, Duration duration, Path body, String token, int port) {
        final List<String> h2load = new ArrayList<>(List.of(binary.toString(),
                "-c", Integer.toString(connections), "-m", Integer.toString(streams), "-t", "1",
                "-D", Long.toString(Math.max(1, duration.toSeconds())),
                "-d", body.toString(),
                "-H", "content-type: application/grpc",
                "-H", "te: trailers"));
        if (token != null) {
            h2load.addAll(List.of("-H", "authorization: Bearer " + token));
        }
        h2load.add("http://127.0.0.1:" + port + PATH);
        final StringBuilder script = new StringBuilder();
        for (String arg : h2load) {
            script.append('\'').append(arg.replace("'", "'\\''")).append("' ");
        }
        script.append("; times");
        return List.of("bash", "-c", script.toString());
    }

    /**
     * Runs one load and reads its report.
     *
     * @throws IOException when h2load cannot start, does not stop in time, or prints no report
     */
    H2LoadResult run(int connections, int streams, Duration duration, Path body, String token, int port, Path log)
            throws IOException, InterruptedException {
        final Process process = new ProcessBuilder(command(connections, streams, duration, body, token, port))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(duration.plus(STOP_MARGIN).toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IOException("h2load did not stop within " + duration.plus(STOP_MARGIN).toSeconds() + " s (" + log
                    + ")");
        }
        final String output = Files.readString(log, StandardCharsets.UTF_8);
        try {
            return H2LoadResult.parse(output);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage() + " (exit status " + process.exitValue() + ", output in " + log + ")");
        }
    }
}
