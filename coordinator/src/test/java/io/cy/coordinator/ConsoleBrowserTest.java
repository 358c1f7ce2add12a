package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.llm.proto.ControlMessage;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin console in a real browser: Playwright ({@code playwright-core}, pinned in
 * {@code src/test/console/package.json}) drives Debian's Chromium against a running coordinator
 * with two simulated sidecars, and the coordinator's side of each click is checked over gRPC
 * Control. Screenshots go to {@code target/console-screenshots/}.
 *
 * <p>Needs {@code node}, {@code /usr/bin/chromium} and {@code npm ci} in {@code src/test/console}
 * ({@code .ci/run} and {@code scripts/test} see to all three).
 */
class ConsoleBrowserTest {

    private static final Path NODE_DIR = Path.of("src", "test", "console").toAbsolutePath();
    private static final Path SCREENSHOTS = Path.of("target", "console-screenshots").toAbsolutePath();
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final int TIMEOUT_SECONDS = 180;

    @TempDir
    Path dir;

    @Test
    void everyPanelShowsTheRealStateAndTheButtonsChangeIt() throws Exception {
        final TestDatabase.Db db = TestDatabase.newDatabase();
        try (ConsoleStack console = ConsoleStack.start(dir, db, Map.of())) {
            // given: calls of two tenants, one of them refused by its quota, and a second routes version
            assertThat(console.call("acme", "chat", "browser-acme-1").status().isOk()).isTrue();
            assertThat(console.call("acme", "default", "browser-acme-2").status().isOk()).isTrue();
            assertThat(console.call("limited", "default", "browser-limited-1").status().isOk()).isTrue();
            assertThat(console.call("limited", "default", "browser-limited-2").status().getCode())
                    .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            final ControlMessage set = control(console, "routes_set", Map.of("routes",
                    "{\"aliases\":{\"default\":{\"backend\":\"gpu-a\",\"model\":\"sim\"},\"chat\":["
                            + "{\"backend\":\"gpu-a\",\"model\":\"sim\",\"weight\":50},"
                            + "{\"backend\":\"cpu-b\",\"model\":\"sim\",\"weight\":50}]}}"));
            assertThat(set.getPayloadOrThrow("status")).as(set.toString()).isEqualTo("ok");
            final String addr = console.stack.coordinator.sidecars().backend("gpu-a").get(0).toString();
            assertThat(sidecar(console, addr, "draining")).isEqualTo("false");
            AuditTable.awaitRow(db, "browser-limited-2", r -> "browser-limited-2".equals(r.traceId()));

            // when: the browser logs in (after a wrong token and a token without the role), reads each
            // panel, drains the sidecar and rolls the routes back
            final Map<String, String> env = new HashMap<>();
            env.put("CONSOLE_MODE", "auth");
            env.put("WRONG_TOKEN", ConsoleStack.token("ops-admin", "ops", List.of("admin"), "x".repeat(48)));
            env.put("USER_TOKEN", ConsoleStack.token("svc-acme", "acme", List.of("user"), ConsoleStack.SECRET));
            env.put("ADMIN_TOKEN", ConsoleStack.adminToken());
            env.put("EXPECT_VERSION", control(console, "ping", Map.of()).getPayloadOrThrow("version"));
            env.put("EXPECT_ROUTES_VERSION", "2");
            env.put("EXPECT_ROUTES_TEXT", "gpu-a/sim (50%), cpu-b/sim (50%)");
            env.put("EXPECT_ROLLBACK_TO", "1");
            env.put("EXPECT_ROLLBACK_TEXT", "gpu-a/sim (90%), cpu-b/sim (10%)");
            env.put("EXPECT_TENANTS", "acme,limited");
            env.put("EXPECT_REFUSAL", "limited=requests_per_minute: 1");
            env.put("EXPECT_CALLS_SOURCE", "from the audit log");
            env.put("EXPECT_TRACES", "browser-acme-1,browser-acme-2,browser-limited-2");
            env.put("FILTER_TENANT", "limited");
            env.put("DRAIN_ADDR", addr);
            final String log = runBrowser(console, env, "auth");

            // then: the coordinator itself reports what the clicks asked for
            assertThat(sidecar(console, addr, "draining")).as(log).isEqualTo("true");
            final ControlMessage routes = control(console, "routes_get", Map.of());
            assertThat(routes.getPayloadOrThrow("version")).as(log).isEqualTo("1");
            assertThat(routes.getPayloadOrThrow("routes")).contains("\"weight\":90");
            final Row drain = AuditTable.awaitRow(db, "the drain clicked in the console",
                    r -> "drain_sidecar".equals(r.command()));
            assertThat(drain.api()).isEqualTo("admin");
            assertThat(drain.subject()).isEqualTo("ops-admin");
            assertThat(drain.payload()).containsEntry("addr", addr);
            assertThat(SCREENSHOTS.resolve("auth").resolve("console.png")).isNotEmptyFile();
            assertThat(SCREENSHOTS.resolve("auth").resolve("login-refused.png")).isNotEmptyFile();
        }
    }

    @Test
    void withAuthenticationOffThePageOpensDirectlyAndRecentCallsComeFromMemory() throws Exception {
        try (ConsoleStack console = ConsoleStack.start(dir, null, Map.of("CY_AUTH_MODE", "none"))) {
            assertThat(console.call("acme", "chat", "open-acme-1").status().isOk()).isTrue();
            assertThat(console.call("web", "default", "open-web-1").status().isOk()).isTrue();
            final String addr = console.stack.coordinator.sidecars().backend("cpu-b").get(0).toString();

            final Map<String, String> env = new HashMap<>();
            env.put("CONSOLE_MODE", "open");
            env.put("EXPECT_VERSION", control(console, "ping", Map.of()).getPayloadOrThrow("version"));
            env.put("EXPECT_ROUTES_VERSION", "1");
            env.put("EXPECT_ROUTES_TEXT", "gpu-a/sim (90%), cpu-b/sim (10%)");
            env.put("EXPECT_TENANTS", "acme,limited");
            env.put("EXPECT_CALLS_SOURCE", "from memory");
            env.put("EXPECT_TRACES", "open-acme-1,open-web-1");
            env.put("FILTER_TENANT", "web");
            env.put("DRAIN_ADDR", addr);
            final String log = runBrowser(console, env, "open");

            assertThat(sidecar(console, addr, "draining")).as(log).isEqualTo("true");
        }
    }

    /** Runs console-test.mjs against the console; returns its output, failing with it unless it exits 0. */
    private static String runBrowser(ConsoleStack console, Map<String, String> env, String name) throws Exception {
        if (!Files.isDirectory(NODE_DIR.resolve("node_modules").resolve("playwright-core"))) {
            fail("playwright-core is not installed: run npm ci in coordinator/src/test/console");
        }
        if (!Files.isExecutable(CHROMIUM)) {
            fail("no Chromium at " + CHROMIUM + ": install Debian's chromium (apt-get install chromium)");
        }
        final Path output = Files.createTempFile("console-test", ".log");
        try {
            final ProcessBuilder pb = new ProcessBuilder("node", "console-test.mjs")
                    .directory(NODE_DIR.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            pb.environment().putAll(env);
            pb.environment().put("CONSOLE_URL", console.admin.toString());
            pb.environment().put("SCREENSHOT_DIR", SCREENSHOTS.resolve(name).toString());
            pb.environment().put("CHROMIUM", CHROMIUM.toString());
            final Process node;
            try {
                node = pb.start();
            } catch (IOException e) {
                throw new AssertionError("cannot run node (Node.js 20 or newer is needed): " + e.getMessage(), e);
            }
            if (!node.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                node.destroyForcibly();
                fail("console-test.mjs did not finish within " + TIMEOUT_SECONDS + " s; its output:\n"
                        + Files.readString(output, StandardCharsets.UTF_8));
            }
            final String log = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(node.exitValue()).as("console-test.mjs exit code; its output:\n%s", log).isZero();
            return log;
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static ControlMessage control(ConsoleStack console, String command, Map<String, String> payload) {
        return HealthAndControlTest.control(console.stack.coordinatorChannel(), "trace-" + command, command, payload,
                AuthCalls.bearer(ConsoleStack.adminToken()));
    }

    /** A field of {@code addr}'s entry in what a gRPC Control list_sidecars reports. */
    private static String sidecar(ConsoleStack console, String addr, String field) {
        final Map<String, String> payload = control(console, "list_sidecars", Map.of()).getPayloadMap();
        for (int i = 0; i < Integer.parseInt(payload.get("count")); i++) {
            if (addr.equals(payload.get("sidecar." + i + ".addr"))) {
                return payload.get("sidecar." + i + "." + field);
            }
        }
        throw new AssertionError(addr + " not in list_sidecars: " + payload);
    }
}
