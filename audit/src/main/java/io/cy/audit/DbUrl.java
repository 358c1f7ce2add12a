package io.cy.audit;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The database to audit to, from {@code DB_URL} in either form:
 * <ul>
 *   <li>{@code postgresql://user:pass@host:port/db?params} (also {@code postgres://}), the form of the
 *       integration guide; user and password are percent-decoded, several {@code host:port} pairs
 *       may be separated by commas, and the port defaults to 5432;</li>
 *   <li>{@code jdbc:postgresql://host:port/db?params}, passed to the driver as it is.</li>
 * </ul>
 * In both, {@code user} and {@code password} query parameters are taken out of the URL, so that
 * {@link #jdbcUrl()} never holds a password. {@link #toString()} is {@link #redacted()}.
 */
public final class DbUrl {

    private static final String EXPECTED =
            "expected: postgresql://user:pass@host:port/db or jdbc:postgresql://host:port/db";

    private final String jdbcUrl;
    private final String user;
    private final String password;

    private DbUrl(String jdbcUrl, String user, String password) {
        this.jdbcUrl = jdbcUrl;
        this.user = user;
        this.password = password;
    }

    /**
     * Parses {@code DB_URL}.
     *
     * @throws IllegalArgumentException naming what is wrong; the message never holds the password
     */
    public static DbUrl parse(String url) {
        requireNonNull(url, "url");
        final String value = url.strip();
        if (value.isEmpty()) {
            throw invalid("empty");
        }
        if (value.startsWith("jdbc:postgresql:")) {
            return fromJdbc(value);
        }
        final int schemeEnd = value.indexOf("://");
        if (schemeEnd < 0) {
            throw invalid("no scheme");
        }
        final String scheme = value.substring(0, schemeEnd);
        if (!scheme.equals("postgresql") && !scheme.equals("postgres")) {
            throw invalid("unsupported scheme '" + scheme + "'");
        }
        return fromUri(value.substring(schemeEnd + 3));
    }

    /** The URL for the driver; never holds the password. */
    public String jdbcUrl() {
        return jdbcUrl;
    }

    /** The user, or null when the driver's default applies. */
    public String user() {
        return user;
    }

    /** The password, or null when none was given. */
    public String password() {
        return password;
    }

    /** The URL for logs: the JDBC URL and the user, the password as {@code ***}. */
    public String redacted() {
        return jdbcUrl + (user == null ? "" : " user=" + user) + (password == null ? "" : " password=***");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DbUrl other && jdbcUrl.equals(other.jdbcUrl) && Objects.equals(user, other.user)
                && Objects.equals(password, other.password);
    }

    @Override
    public int hashCode() {
        return Objects.hash(jdbcUrl, user, password);
    }

    @Override
    public String toString() {
        return redacted();
    }

    private static DbUrl fromJdbc(String value) {
        final int q = value.indexOf('?');
        if (q < 0) {
            return new DbUrl(value, null, null);
        }
        final Query query = Query.parse(value.substring(q + 1));
        return new DbUrl(value.substring(0, q) + query.rest(), query.user, query.password);
    }

    private static DbUrl fromUri(String rest) {
        final int q = rest.indexOf('?');
        final String beforeQuery = q < 0 ? rest : rest.substring(0, q);
        final Query query = q < 0 ? new Query() : Query.parse(rest.substring(q + 1));

        final int slash = beforeQuery.indexOf('/');
        final String authority = slash < 0 ? beforeQuery : beforeQuery.substring(0, slash);
        final String database = slash < 0 ? "" : beforeQuery.substring(slash + 1);

        String user = null;
        String password = null;
        String hosts = authority;
        final int at = authority.lastIndexOf('@');
        if (at >= 0) {
            final String userInfo = authority.substring(0, at);
            hosts = authority.substring(at + 1);
            final int colon = userInfo.indexOf(':');
            user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon), "user");
            password = colon < 0 ? null : decode(userInfo.substring(colon + 1), "password");
            if (user.isEmpty()) {
                user = null;
            }
        }
        if (query.user != null) {
            user = query.user;
        }
        if (query.password != null) {
            password = query.password;
        }
        final List<String> checked = new ArrayList<>();
        for (String host : hosts.split(",", -1)) {
            checked.add(checkHost(host));
        }
        // The database name stays percent-encoded: the driver decodes it.
        return new DbUrl("jdbc:postgresql://" + String.join(",", checked) + "/" + database + query.rest(),
                user, password);
    }

    /** {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}, with the port checked. */
    private static String checkHost(String host) {
        if (host.isEmpty()) {
            throw invalid("no host");
        }
        final String port;
        if (host.startsWith("[")) {
            final int close = host.indexOf(']');
            if (close < 0) {
                throw invalid("unclosed '[' in host");
            }
            port = host.length() > close + 1 && host.charAt(close + 1) == ':' ? host.substring(close + 2) : null;
        } else {
            final int colon = host.indexOf(':');
            if (colon == 0) {
                throw invalid("no host");
            }
            port = colon < 0 ? null : host.substring(colon + 1);
        }
        if (port != null) {
            final int number;
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                // Not quoted: in 'postgresql://user:secret/db' (no '@host') the password is read as the port.
                throw invalid("port is not a number (expected: 1-65535)");
            }
            if (number < 1 || number > 65535) {
                throw invalid("port out of range (expected: 1-65535)");
            }
        }
        return host;
    }

    /** Percent-decoding as in a URI's user info: unlike form decoding, '+' stays '+'. */
    private static String decode(String s, String what) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        final ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c != '%') {
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            if (i + 2 >= s.length()) {
                throw invalid("bad percent-encoding in " + what);
            }
            final int hi = Character.digit(s.charAt(i + 1), 16);
            final int lo = Character.digit(s.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                throw invalid("bad percent-encoding in " + what);
            }
            out.write(hi * 16 + lo);
            i += 2;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException invalid(String problem) {
        return new IllegalArgumentException("DB_URL: " + problem + " (" + EXPECTED + ")");
    }

    /** Query parameters with {@code user} and {@code password} taken out, libpq names translated. */
    private static final class Query {
        private String user;
        private String password;
        private final List<String> others = new ArrayList<>();

        static Query parse(String query) {
            final Query result = new Query();
            for (String param : query.split("&")) {
                if (param.isEmpty()) {
                    continue;
                }
                final int eq = param.indexOf('=');
                final String key = eq < 0 ? param : param.substring(0, eq);
                final String value = eq < 0 ? "" : param.substring(eq + 1);
                switch (key) {
                    case "user" -> result.user = decode(value, "user");
                    case "password" -> result.password = decode(value, "password");
                    // libpq's names, where the driver's differ.
                    case "connect_timeout" -> result.others.add("connectTimeout=" + value);
                    case "application_name" -> result.others.add("ApplicationName=" + value);
                    default -> result.others.add(param);
                }
            }
            return result;
        }

        String rest() {
            return others.isEmpty() ? "" : "?" + String.join("&", others);
        }
    }
}
