package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's TLS section, as a user runs it: its {@code scripts/make-dev-certs} line, its
 * {@code export} lines (evaluated by bash) as the coordinator's environment in place of
 * {@code scripts/quickstart}, and its {@code curl} lines against that coordinator. The
 * certificate directory and the port are this run's; {@code scripts/call} and grpcurl lines are
 * left to {@code ClientCertAuthTest} and {@code FrontServerTlsTest}, which make the same calls
 * with Java clients.
 */
class ReadmeTlsExamplesTest {

    private static final Pattern BLOCK = Pattern.compile("^```bash\\n(.*?)^```", Pattern.MULTILINE | Pattern.DOTALL);
    private static final String README_CERTS = "/tmp/cy-certs";

    @TempDir
    Path dir;

    /** A coordinator to start with these variables (the quickstart line), or a curl line to run against it. */
    private record Step(Map<String, String> start, String curl) {}

    @Test
    void everyCurlExampleWorksAsWritten() throws Exception {
        final Path certs = dir.resolve("certs");
        final Map<String, String> env = new HashMap<>();
        // What the quickstart sets besides the README's variables: a development secret.
        env.put("CY_AUTH_HMAC_SECRET", "readme-tls-example-secret-of-at-least-32-bytes");
        env.put("CY_AUTH_MODE", "required");
        final List<Step> steps = new ArrayList<>();
        for (String line : commands(section())) {
            final String command = line.replace(README_CERTS, certs.toString());
            if (command.startsWith("scripts/make-dev-certs")) {
                assertThat(bash(command).exitCode()).as(command).isZero();
            } else if (command.startsWith("export ")) {
                env.putAll(exported(command));
            } else if (command.equals("scripts/quickstart")) {
                steps.add(new Step(Map.copyOf(env), null));
            } else if (command.startsWith("curl ")) {
                steps.add(new Step(null, command));
            }
        }
        assertThat(steps.stream().filter(s -> s.start() != null)).as("quickstart lines").hasSize(2);
        assertThat(steps.stream().filter(s -> s.curl() != null)).as("curl lines").hasSize(2);

        TestStack stack = null;
        try {
            for (Step step : steps) {
                if (step.start() != null) {
                    if (stack != null) {
                        stack.close();
                    }
                    stack = TestStack.start(dir, 1, sim -> { }, "", step.start());
                    continue;
                }
                assertThat(stack).as("a coordinator before " + step.curl()).isNotNull();
                final String local = step.curl().replace("localhost:8080",
                        "localhost:" + stack.coordinator.httpEndpoint().port());
                final Result result = bash(local + " -sS -w '\\n%{http_code}'");
                assertThat(result.exitCode()).as(local + "\n" + result.output()).isZero();
                assertThat(result.output()).as(local).endsWith("\n200");
                if (local.contains("/v1/chat/completions")) {
                    assertThat(result.output()).contains("\"choices\"");
                    assertThat(AuthCalls.forwardedTenant(stack)).as("the tenant of the client certificate's entry")
                            .isEqualTo("demo");
                }
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
        }
    }

    private static String section() throws IOException {
        final String readme = Files.readString(Path.of("../README.md"));
        final int start = readme.indexOf("\n## TLS\n");
        assertThat(start).as("README.md has a '## TLS' section").isPositive();
        final int end = readme.indexOf("\n## ", start + 1);
        return readme.substring(start, end);
    }

    /** The logical lines of the section's bash blocks, continuation lines joined. */
    private static List<String> commands(String section) {
        final List<String> commands = new ArrayList<>();
        final Matcher m = BLOCK.matcher(section);
        while (m.find()) {
            for (String line : m.group(1).replace("\\\n", " ").split("\n")) {
                if (!line.isBlank()) {
                    commands.add(line.trim().replaceAll("\\s+", " "));
                }
            }
        }
        return commands;
    }

    /** What an {@code export} line sets, as bash parses it. */
    private static Map<String, String> exported(String line) throws Exception {
        final Result result = bash("env -i bash -c " + shellQuote(line + "; env -0"));
        assertThat(result.exitCode()).isZero();
        final Map<String, String> vars = new HashMap<>();
        for (String entry : result.output().split("\0")) {
            final int eq = entry.indexOf('=');
            if (eq > 0 && entry.startsWith("CY_")) {
                vars.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        assertThat(vars).as(line).isNotEmpty();
        return vars;
    }

    private static String shellQuote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    private record Result(int exitCode, String output) {}

    /** Runs {@code command} with bash in the repository's root. */
    private static Result bash(String command) throws Exception {
        final Process process = new ProcessBuilder("bash", "-c", command).directory(Path.of("..").toFile())
                .redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(command).isTrue();
        return new Result(process.exitValue(), output);
    }
}
