package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.predict;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.OidcTestServer.SigningKey;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduled JWKS refresh: it stays one schedule, a withdrawn key stops working, even for
 * tokens verified (and cached) before, and a verified token is cached no longer than it is valid.
 */
class AuthKeyRefreshTest {

    /** The shortest refresh_interval the coordinator accepts. */
    static final Duration REFRESH_INTERVAL = Duration.ofSeconds(1);
    static final Duration MIN_REFRESH_INTERVAL = Duration.ofMillis(100);
    static final Duration SCHEDULE_WINDOW = Duration.ofSeconds(3);
    static final Duration CLOCK_SKEW = Duration.ofSeconds(1);
    static final Duration A_FEW_REFRESHES = Duration.ofSeconds(5);

    @TempDir
    static Path dir;

    static OidcTestServer provider;
    static TestStack stack;
    static SigningKey staying;

    @BeforeAll
    static void start() throws Exception {
        provider = OidcTestServer.start();
        staying = provider.publish(SigningKey.generate("staying", Jwts.SIG.RS256));
        stack = TestStack.start(dir, 1, sim -> { }, """
                auth:
                  clock_skew: %dms
                  oidc: {refresh_interval: %dms, min_refresh_interval: %dms}
                """.formatted(CLOCK_SKEW.toMillis(), REFRESH_INTERVAL.toMillis(), MIN_REFRESH_INTERVAL.toMillis()),
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
    void refreshesKeepToOneScheduleWhateverTriggeredThem() throws Exception {
        // given: refreshes caused by tokens naming unknown kids, each outside min_refresh_interval
        for (int i = 0; i < 4; i++) {
            provider.awaitNoFetchFor(MIN_REFRESH_INTERVAL.plusMillis(50));
            final int before = provider.jwksRequests();
            final String token = provider.token(SigningKey.generate("nobody-" + i, Jwts.SIG.ES256)).compact();
            assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "unknown signing key", token);
            assertThat(provider.jwksRequests()).as("a fetch for the unknown kid").isGreaterThan(before);
        }

        // when: the scheduled refresh runs on for a few intervals
        final int before = provider.jwksRequests();
        Thread.sleep(SCHEDULE_WINDOW.toMillis());
        final int fetched = provider.jwksRequests() - before;

        // then: about one fetch per refresh_interval, not one per refresh that ever happened
        final long intervals = SCHEDULE_WINDOW.toMillis() / REFRESH_INTERVAL.toMillis();
        assertThat(fetched).as("JWKS fetches in %d ms", SCHEDULE_WINDOW.toMillis())
                .isBetween((int) intervals - 1, (int) intervals + 2);
    }

    @Test
    void aWithdrawnKeyStopsWorkingAfterTheRefreshEvenForCachedTokens() throws Exception {
        // given: a token verified with a key, so cached
        final SigningKey leaving = provider.publish(SigningKey.generate("leaving", Jwts.SIG.ES256));
        final String cached = provider.token(leaving).claim("tenant", "acme").compact();
        final String staysValid = provider.token(staying).claim("tenant", "acme").compact();
        Eventually.await("the new key accepted", A_FEW_REFRESHES,
                () -> callCode(cached) == Code.OK);
        assertThat(callCode(cached)).isEqualTo(Code.OK);

        // when
        provider.withdraw(leaving.kid());

        // then
        Eventually.await("the cached token refused", A_FEW_REFRESHES, () -> callCode(cached) == Code.UNAUTHENTICATED);
        assertRefused(predict(stack, bearer(cached)).status(), Code.UNAUTHENTICATED, "unknown signing key", cached);
        final String fresh = provider.token(leaving).claim("tenant", "acme").compact();
        assertRefused(predict(stack, bearer(fresh)).status(), Code.UNAUTHENTICATED, "unknown signing key", fresh);
        assertThat(callCode(staysValid)).isEqualTo(Code.OK);
    }

    @Test
    void aCachedTokenIsRefusedOnceItExpires() throws Exception {
        // given: a token with one or two seconds to live, verified once
        final Instant exp = Instant.now().plusSeconds(2);
        final String shortLived = provider.token(staying).claim("tenant", "acme")
                .issuedAt(Date.from(Instant.now().minusSeconds(60))).expiration(Date.from(exp)).compact();
        assertThat(callCode(shortLived)).isEqualTo(Code.OK);

        // when: it expires (exp has whole seconds) and the clock skew has passed
        final long wait = Duration.between(Instant.now(), exp.plus(CLOCK_SKEW)).toMillis() + 300;
        Thread.sleep(Math.max(0, wait));

        // then
        assertRefused(predict(stack, bearer(shortLived)).status(), Code.UNAUTHENTICATED, "token expired", shortLived);
    }

    private static Code callCode(String token) {
        try {
            return predict(stack, bearer(token)).status().getCode();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
