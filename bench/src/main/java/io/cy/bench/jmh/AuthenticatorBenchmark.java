package io.cy.bench.jmh;

import io.cy.bench.compare.HmacJwt;
import io.cy.coordinator.auth.Authentication;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.config.ConfigLoader;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Authentication of a bearer token as every call pays it: a JWT seen before (a cache hit: one
 * SHA-256 of the token and a lookup, no signature check), and an API key (SHA-256 and a
 * constant-time comparison with each configured hash).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AuthenticatorBenchmark {

    private static final String API_KEY = "cy-bench-api-key-0123456789abcdef";

    private Authenticator authenticator;
    private String jwt;

    @Setup
    public void setUp() throws Exception {
        final String secret = HmacJwt.newSecret();
        authenticator = Authenticator.start(ConfigLoader.load(null,
                Map.of("CY_AUTH_HMAC_SECRET", secret, "GATEWAY_API_TOKEN", API_KEY)).config().auth());
        jwt = HmacJwt.mint(secret, "cy-bench", "bench", Duration.ofDays(1));
        // The first sight verifies the signature and fills the cache.
        for (String token : new String[] {jwt, API_KEY}) {
            if (!authenticator.authenticate(token).get().isAuthenticated()) {
                throw new IllegalStateException("the benchmark's credential was refused: " + token.length() + " chars");
            }
        }
    }

    @TearDown
    public void tearDown() {
        authenticator.close();
    }

    @Benchmark
    public Authentication jwtCacheHit() {
        return authenticator.authenticate(jwt).join();
    }

    @Benchmark
    public Authentication apiKey() {
        return authenticator.authenticate(API_KEY).join();
    }
}
