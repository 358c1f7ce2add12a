package io.cy.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A separate JVM that starts the embedded database on a directory, says its URL, and waits to be
 * killed: a coordinator that dies without stopping its server.
 */
public final class EmbeddedDatabaseChild {

    static final String READY = "READY ";

    private EmbeddedDatabaseChild() {}

    public static void main(String[] args) throws Exception {
        final EmbeddedAuditDatabase database = EmbeddedAuditDatabase.start(Path.of(args[0]));
        System.out.println(READY + database.url());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static Process spawn(Path dir) throws IOException {
        final String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(List.of(java, "-cp", classpath, EmbeddedDatabaseChild.class.getName(), dir.toString()))
                .redirectErrorStream(true)
                .start();
    }

    /** The URL the child's database is at, once it says so; its other output is echoed. */
    static String awaitReady(Process child, Duration timeout) throws Exception {
        final CompletableFuture<String> url = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith(READY)) {
                        return line.substring(READY.length());
                    }
                    System.out.println("child: " + line);
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        final String found = url.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (found == null) {
            throw new AssertionError("the child exited before its database was ready");
        }
        return found;
    }
}
