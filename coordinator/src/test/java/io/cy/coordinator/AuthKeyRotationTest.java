package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.forwardedTenant;
import static io.cy.coordinator.AuthCalls.ping;
import static io.cy.coordinator.AuthCalls.predict;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.OidcTestServer.SigningKey;
import io.cy.coordinator.TestStack.Result;
import io.grpc.ManagedChannel;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A key the provider publishes after start-up is fetched when the first token naming it
 * arrives: once, however many such calls arrive together, and at most once per
 * {@code min_refresh_interval} for kids that are not there at all.
 */
class AuthKeyRotationTest {

    static final Duration MIN_REFRESH_INTERVAL = Duration.ofSeconds(1);
    /** Past the rate limit of the last fetch, with a margin. */
    static final Duration OUTSIDE_RATE_LIMIT = MIN_REFRESH_INTERVAL.plusMillis(300);
    static final int CONCURRENT_CALLS = 8;

    @TempDir
    static Path dir;

    static OidcTestServer provider;
    static TestStack stack;
    static SigningKey original;

    @BeforeAll
    static void start() throws Exception {
        provider = OidcTestServer.start();
        original = provider.publish(SigningKey.generate("original", Jwts.SIG.RS256));
        // A scheduled refresh never comes during a test: every fetch counted is one the calls caused.
        stack = TestStack.start(dir, 1, sim -> { },
                "auth: {oidc: {refresh_interval: 1h, min_refresh_interval: " + MIN_REFRESH_INTERVAL.toMillis() + "ms}}",
                provider.environment());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (provider != null) {
            provider.close();
        }
    }

    @Test
    void aNewKidIsFetchedOnceForConcurrentCallsAndThenAccepted() throws Exception {
        // given: keys loaded, and the last fetch outside the rate limit
        assertThat(predict(stack, bearer(provider.token(original).claim("tenant", "before").compact()))
                .status().getCode()).isEqualTo(Code.OK);
        provider.awaitNoFetchFor(OUTSIDE_RATE_LIMIT);
        final int fetchesBefore = provider.jwksRequests();
        final SigningKey rotated = provider.publish(SigningKey.generate("rotated", Jwts.SIG.ES256));

        // when: several calls with the new kid arrive together, on separate connections
        final List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < CONCURRENT_CALLS; i++) {
            channels.add(stack.coordinatorChannel());
        }
        final CountDownLatch go = new CountDownLatch(1);
        final ExecutorService clients = Executors.newFixedThreadPool(CONCURRENT_CALLS);
        final List<Future<Result>> results = new ArrayList<>();
        try {
            for (int i = 0; i < CONCURRENT_CALLS; i++) {
                final ManagedChannel channel = channels.get(i);
                final String token = provider.token(rotated).claim("tenant", "rotated").subject("caller-" + i).compact();
                results.add(clients.submit(() -> {
                    go.await();
                    return predict(channel, bearer(token), "");
                }));
            }
            go.countDown();

            // then: all get through, and the provider saw exactly one more fetch
            for (Future<Result> result : results) {
                final Result done = result.get(TestStack.TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertThat(done.status().getCode()).as("%s", done.status()).isEqualTo(Code.OK);
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(forwardedTenant(stack)).isEqualTo("rotated");
        assertThat(provider.jwksRequests() - fetchesBefore).as("JWKS fetches caused by the new kid").isEqualTo(1);

        // and the old key keeps working
        assertThat(predict(stack, bearer(provider.token(original).compact())).status().getCode()).isEqualTo(Code.OK);
        assertThat(provider.jwksRequests() - fetchesBefore).isEqualTo(1);
    }

    @Test
    void unknownKidsCauseAtMostOneFetchPerMinRefreshInterval() throws Exception {
        // given
        provider.awaitNoFetchFor(OUTSIDE_RATE_LIMIT);
        final int fetchesBefore = provider.jwksRequests();
        final SigningKey ghost = SigningKey.generate("ghost", Jwts.SIG.ES256);
        final SigningKey phantom = SigningKey.generate("phantom", Jwts.SIG.ES256);

        // when: a burst of calls naming kids the provider does not have
        for (int i = 0; i < 6; i++) {
            final String token = provider.token(i % 2 == 0 ? ghost : phantom).compact();

            // then: each is refused, and the provider is asked once
            assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "unknown signing key", token);
        }
        assertThat(provider.jwksRequests() - fetchesBefore).as("JWKS fetches caused by unknown kids").isEqualTo(1);

        // and once the interval has passed, a kid published meanwhile is found: a unary call
        // (Control) waits for the fetch as a stream does
        provider.publish(ghost);
        provider.awaitNoFetchFor(OUTSIDE_RATE_LIMIT);
        final String admin = provider.token(ghost).claim("roles", List.of("admin")).compact();
        assertThat(ping(stack.coordinatorChannel(), bearer(admin)).getPayloadMap()).containsEntry("status", "ok");
        final Result later = predict(stack, bearer(provider.token(ghost).compact()));
        assertThat(later.status().getCode()).as("%s", later.status()).isEqualTo(Code.OK);
        assertThat(provider.jwksRequests() - fetchesBefore).isEqualTo(2);
    }
}
