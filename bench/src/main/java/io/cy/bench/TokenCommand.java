package io.cy.bench;

import io.jsonwebtoken.JwtBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code token}: mints an HS256 JWT with the coordinator's shared secret, for demos, scripts and
 * tests. Production tokens come from the identity provider.
 */
final class TokenCommand {

    static final String USAGE = String.join("\n",
            "usage: cy-bench token [--secret S] [--tenant T] [--subject S] [--roles a,b] [--ttl 24h]",
            "                      [--issuer URL] [--audience A]",
            "  --secret    the coordinator's auth.hmac_secret (default: $CY_AUTH_HMAC_SECRET; >= 32 bytes)",
            "  --tenant    tenant claim (default: demo)",
            "  --subject   sub claim (default: demo-user)",
            "  --roles     comma-separated roles claim (default: user)",
            "  --ttl       lifetime: 30s, 15m, 24h, 7d (default: 24h)",
            "Prints the token on stdout.",
            "");

    private static final Set<String> VALUED = Set.of("--secret", "--tenant", "--subject", "--roles", "--ttl",
            "--issuer", "--audience");
    private static final Pattern TTL = Pattern.compile("(\\d+)(s|m|h|d)");

    private TokenCommand() {}

    static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(USAGE);
            return 0;
        }
        final String token;
        try {
            token = mint(args, env, Instant.now());
        } catch (UsageException e) {
            err.println("token: " + e.getMessage());
            err.println("Run 'cy-bench token --help' for usage.");
            return BenchMain.EXIT_USAGE;
        }
        out.println(token);
        return 0;
    }

    static String mint(List<String> args, Map<String, String> env, Instant now) throws UsageException {
        String secret = env.getOrDefault("CY_AUTH_HMAC_SECRET", "");
        String tenant = "demo";
        String subject = "demo-user";
        List<String> roles = List.of("user");
        Duration ttl = Duration.ofHours(24);
        String issuer = null;
        String audience = null;
        for (Flags.Flag flag : Flags.parse(args, VALUED, Set.of())) {
            switch (flag.name()) {
                case "--secret":
                    secret = flag.value();
                    break;
                case "--tenant":
                    tenant = nonEmpty(flag);
                    break;
                case "--subject":
                    subject = nonEmpty(flag);
                    break;
                case "--roles":
                    roles = Arrays.stream(flag.value().split(",")).map(String::trim).filter(r -> !r.isEmpty()).toList();
                    break;
                case "--ttl":
                    ttl = ttl(flag.value());
                    break;
                case "--issuer":
                    issuer = nonEmpty(flag);
                    break;
                default:
                    audience = nonEmpty(flag);
                    break;
            }
        }
        final byte[] key = secret.getBytes(StandardCharsets.UTF_8);
        if (key.length < 32) {
            // The length only: the value is a secret.
            throw new UsageException("--secret: " + key.length + " bytes (expected: >= 32 bytes; or set CY_AUTH_HMAC_SECRET)");
        }
        final JwtBuilder builder = Jwts.builder()
                .subject(subject)
                .claim("tenant", tenant)
                .claim("roles", roles)
                .issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(ttl)));
        if (issuer != null) {
            builder.issuer(issuer);
        }
        if (audience != null) {
            builder.audience().add(audience);
        }
        return builder.signWith(Keys.hmacShaKeyFor(key), Jwts.SIG.HS256).compact();
    }

    private static String nonEmpty(Flags.Flag flag) throws UsageException {
        if (flag.value().isBlank()) {
            throw new UsageException(flag.name() + ": empty (expected: a value)");
        }
        return flag.value().trim();
    }

    static Duration ttl(String text) throws UsageException {
        final Matcher m = TTL.matcher(text.trim());
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new UsageException("--ttl: " + text + " (expected: a positive duration such as 30s, 15m, 24h, 7d)");
        }
        final long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "s":
                return Duration.ofSeconds(n);
            case "m":
                return Duration.ofMinutes(n);
            case "h":
                return Duration.ofHours(n);
            default:
                return Duration.ofDays(n);
        }
    }
}
