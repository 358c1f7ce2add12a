package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.noCredential;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.CallSummary;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Callers on the Unix socket without a bearer token, known by the uid or gid the kernel reports
 * ({@code auth.unix_peers}); here the test's own process is the peer. {@link UnixPeerProcessTest}
 * calls from processes with other credentials.
 */
class UnixPeerAuthTest {

    static final String API_KEY = "unix-peer-api-key-3b9d1f7e5a";

    @TempDir
    Path dir;

    static long uid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    static long gid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:gid")).longValue();
    }

    private Path socket() {
        return dir.resolve("coordinator.sock");
    }

    /** Auth required, one API key (tenant keyed) and {@code unixPeers} as the YAML list. */
    private TestStack start(String unixPeers) throws IOException {
        return TestStack.start(dir, 1, sim -> { }, """
                auth:
                  api_keys:
                    - {name: ci-key, sha256: "%s", tenant: keyed, roles: [user]}
                  unix_peers: %s
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(sha256Hex(API_KEY), unixPeers),
                Map.of("CY_AUTH_MODE", "required", "COORDINATOR_UDS_PATH", socket().toString()));
    }

    private static ManagedChannel unixChannel(TestStack stack, Path socket) {
        return stack.channel(Endpoint.unix(socket));
    }

    @Test
    void aListedUidCallsWithoutATokenAsTheFirstMatchingEntrysTenant() throws Exception {
        // given: an entry for another uid first, ours second, our gid third
        try (TestStack stack = start("[{uid: %d, tenant: other}, {uid: %d, tenant: local, roles: [user]},"
                .formatted(uid() + 1, uid()) + " {gid: %d, tenant: later}]".formatted(gid()))) {

            final Result result = AuthCalls.predict(unixChannel(stack, socket()), noCredential(), "");

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(2);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("local");
            final Identity caller = streamPredictSummary(stack).identity();
            assertThat(caller.subject()).isEqualTo("uds:uid=" + uid());
            assertThat(caller.tenant()).isEqualTo("local");
            assertThat(caller.kind()).isEqualTo(Identity.CredentialKind.UNIX_PEER);
            assertThat(caller.keyId()).isEqualTo("uid=" + uid());
        }
    }

    @Test
    void theEntrysRolesWorkAsAnApiKeysDo() throws Exception {
        try (TestStack stack = start("[{gid: %d, tenant: ops, roles: [user]}]".formatted(gid()))) {
            final ManagedChannel channel = unixChannel(stack, socket());

            assertThatThrownBy(() -> AuthCalls.ping(channel, noCredential()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("role 'admin'", "tenant ops");
                    });
        }
        try (TestStack stack = start("[{gid: %d, tenant: ops, roles: [user, admin]}]".formatted(gid()))) {
            assertThat(AuthCalls.ping(unixChannel(stack, socket()), noCredential()).getCommand())
                    .isEqualTo("ping_response");
        }
    }

    @Test
    void anUnlistedPeerIsRefusedNamingItsUid() throws Exception {
        try (TestStack stack = start("[{uid: %d, tenant: other}, {gid: %d, tenant: other}]"
                .formatted(uid() + 1, gid() + 1))) {

            final Result result = AuthCalls.predict(unixChannel(stack, socket()), noCredential(), "");

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(result.status().getDescription())
                    .contains("uid=" + uid() + " ", "matches no auth.unix_peers entry");
            assertThat(stack.sim().stats().lastRequest()).as("nothing reached the sidecar").isNull();
        }
    }

    @Test
    void aBearerTokenWinsOverTheSocketsPeer() throws Exception {
        try (TestStack stack = start("[{uid: %d, tenant: local, roles: [user]}]".formatted(uid()))) {
            final ManagedChannel channel = unixChannel(stack, socket());

            final Result keyed = AuthCalls.predict(channel, bearer(API_KEY), "");
            assertThat(keyed.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("keyed");
            assertThat(streamPredictSummary(stack).identity().kind()).isEqualTo(Identity.CredentialKind.API_KEY);

            // A bad token is not rescued by the peer's entry.
            final Result bad = AuthCalls.predict(channel, bearer("not-a-known-key"), "");
            assertThat(bad.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(bad.status().getDescription()).isEqualTo("unknown API key");
        }
    }

    @Test
    void neverOverTcpNorThroughTheHttpBridge() throws Exception {
        // given: our own uid and gid listed, calling from this very process
        try (TestStack stack = start("[{uid: %d, tenant: local, roles: [user]}, {gid: %d, tenant: local}]"
                .formatted(uid(), gid()))) {

            final Result tcp = AuthCalls.predict(stack, noCredential());
            assertThat(tcp.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(tcp.status().getDescription()).isEqualTo("missing authorization header (expected: Bearer <token>)");

            final HttpResponse<String> http = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"sim\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(http.statusCode()).isEqualTo(401);
            assertThat(http.body()).contains("missing authorization header");
            assertThat(stack.sim().stats().lastRequest()).as("nothing reached the sidecar").isNull();
        }
    }

    /** The summary of the latest StreamPredict call. */
    static CallSummary streamPredictSummary(TestStack stack) throws InterruptedException {
        CallSummary latest = null;
        CallSummary next;
        while ((next = stack.summaries.poll(latest == null ? TestStack.TIMEOUT.toMillis() : 0,
                TimeUnit.MILLISECONDS)) != null) {
            if (next.method().equals("StreamPredict")) {
                latest = next;
            }
        }
        assertThat(latest).as("a StreamPredict call ended").isNotNull();
        return latest;
    }

    static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
