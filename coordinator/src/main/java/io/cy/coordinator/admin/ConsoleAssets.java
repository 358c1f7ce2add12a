package io.cy.coordinator.admin;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The console's page and its bundled assets, from {@code console/} on the class path (the
 * front-end build puts them there). {@code index.html} is revalidated on every load; the assets'
 * names carry a hash of their content, so they are cached for a year. Nothing is fetched from
 * elsewhere, which the Content-Security-Policy holds the page to.
 */
final class ConsoleAssets {

    static final String ROOT = "console/";
    private static final Pattern ASSET = Pattern.compile("/assets/[A-Za-z0-9._-]{1,128}");
    private static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
            + " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none';"
            + " form-action 'none'";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon",
            "json", "application/json",
            "map", "application/json");

    private final ClassLoader loader;

    ConsoleAssets(ClassLoader loader) {
        this.loader = loader;
    }

    /** Whether {@code path} is the page or one of its assets. */
    static boolean serves(String path) {
        return path.equals("/") || path.equals("/index.html") || ASSET.matcher(path).matches();
    }

    void handle(HttpExchange exchange, String path) throws IOException {
        final boolean page = !path.startsWith("/assets/");
        final String name = ROOT + (page ? "index.html" : path.substring(1));
        final byte[] body;
        try (InputStream in = loader.getResourceAsStream(name)) {
            if (in == null) {
                final byte[] missing = (page ? "the console is not in this build (expected: " + name
                        + " on the class path; build with Node.js and npm installed)\n" : "not found: " + path + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                send(exchange, 404, "text/plain; charset=utf-8", "no-store", missing);
                return;
            }
            body = in.readAllBytes();
        }
        final int dot = name.lastIndexOf('.');
        final String type = TYPES.getOrDefault(name.substring(dot + 1), "application/octet-stream");
        if (page) {
            exchange.getResponseHeaders().set("Content-Security-Policy", POLICY);
            exchange.getResponseHeaders().set("X-Frame-Options", "DENY");
            exchange.getResponseHeaders().set("Referrer-Policy", "no-referrer");
        }
        send(exchange, 200, type, page ? "no-cache" : "public, max-age=31536000, immutable", body);
    }

    private static void send(HttpExchange exchange, int code, String type, String cache, byte[] body)
            throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", cache);
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        final boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
