package io.cy.bridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OpenAI Node SDK (pinned in {@code src/test/node/package.json}) against the bridge:
 * {@code sdk-test.mjs} runs chat completion, streaming with usage, stop sequences, and checks
 * that 401, 429 and 400 raise the SDK's own error classes. The upstream is {@link FakeUpstream},
 * whose conventions the script relies on.
 *
 * <p>Needs {@code node} and the SDK installed ({@code npm ci} in {@code src/test/node}, which
 * {@code scripts/test} and CI do); without them this test fails rather than skipping, so a
 * missing install never passes as green.
 */
class OpenAiSdkTest {

    private static final Path NODE_DIR = Path.of("src", "test", "node").toAbsolutePath();
    private static final long TIMEOUT_SECONDS = 120;

    @Test
    void officialSdkWorksAgainstTheBridge(@TempDir Path tmp) throws Exception {
        if (!Files.isDirectory(NODE_DIR.resolve("node_modules").resolve("openai"))) {
            fail("the OpenAI SDK is not installed: run npm ci in http-bridge/src/test/node");
        }
        try (FakeUpstream upstream = new FakeUpstream(); BridgeFixture fixture = new BridgeFixture(upstream.channel())) {
            final Path output = tmp.resolve("sdk-test.log");
            final ProcessBuilder pb = new ProcessBuilder("node", "sdk-test.mjs")
                    .directory(NODE_DIR.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            pb.environment().put("BRIDGE_BASE_URL", "http://127.0.0.1:" + fixture.port() + "/v1");
            final Process node;
            try {
                node = pb.start();
            } catch (IOException e) {
                throw new AssertionError("cannot run node (Node.js 18 or newer is needed): " + e.getMessage(), e);
            }
            if (!node.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                node.destroyForcibly();
                fail("sdk-test.mjs did not finish within " + TIMEOUT_SECONDS + " s:\n" + Files.readString(output, UTF_8));
            }
            final String log = Files.readString(output, UTF_8);
            System.out.println(log);
            assertThat(node.exitValue()).as("sdk-test.mjs exit code; its output:\n%s", log).isZero();
            assertThat(log).contains(" passed, 0 failed");
            // One refused call without retries, then one call with two retries after Retry-After.
            assertThat(upstream.rateLimitedCalls.get()).isEqualTo(4);
        }
    }
}
