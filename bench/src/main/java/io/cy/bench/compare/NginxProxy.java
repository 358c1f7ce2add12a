package io.cy.bench.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * nginx as a plain gRPC proxy ({@code grpc_pass}) to the same Unix socket as the coordinator:
 * the cost of a proxy that does nothing else. Runs in the foreground from its own directory.
 */
final class NginxProxy {

    private NginxProxy() {}

    /** The nginx binary on the PATH, or in the sbin directories a non-root PATH often lacks. */
    static Optional<Path> find() {
        return Executables.find("nginx", List.of("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"));
    }

    /** What {@code nginx -v} says, e.g. "nginx/1.22.1"; "nginx" if it says nothing usable. */
    static String version(Path nginx) {
        try {
            final Process process = new ProcessBuilder(nginx.toString(), "-v").redirectErrorStream(true).start();
            final String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            process.waitFor(10, TimeUnit.SECONDS);
            final int slash = text.indexOf("nginx/");
            return slash >= 0 ? text.substring(slash).split("\\s")[0] : "nginx";
        } catch (IOException e) {
            return "nginx";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "nginx";
        }
    }

    /**
     * The configuration: an HTTP/2 listener on 127.0.0.1:{@code port} passing every call to the
     * socket. Upstream connections are kept and reused (nginx opens one per concurrent call, it
     * does not multiplex), and no limit on streams or requests per connection is lower than any
     * scenario needs, so nginx is never the one turning calls away.
     */
    static String config(Path dir, int port, Path socket, boolean root) {
        return String.join("\n",
                "# Written by cy-bench compare: nginx as a plain gRPC proxy, for reference.",
                root ? "user root;" : "",
                "worker_processes auto;",
                "pid " + dir.resolve("nginx.pid") + ";",
                "error_log " + dir.resolve("error.log") + " warn;",
                "events {",
                "  worker_connections 16384;",
                "}",
                "http {",
                "  access_log off;",
                "  client_body_temp_path " + dir.resolve("client_body") + ";",
                "  proxy_temp_path " + dir.resolve("proxy") + ";",
                "  fastcgi_temp_path " + dir.resolve("fastcgi") + ";",
                "  uwsgi_temp_path " + dir.resolve("uwsgi") + ";",
                "  scgi_temp_path " + dir.resolve("scgi") + ";",
                "  upstream sidecar {",
                "    server unix:" + socket + ";",
                "    keepalive 2048;",
                "    keepalive_requests 100000000;",
                "    keepalive_timeout 600s;",
                "  }",
                "  server {",
                "    listen 127.0.0.1:" + port + " http2;",
                "    http2_max_concurrent_streams 20000;",
                "    keepalive_requests 100000000;",
                "    keepalive_timeout 600s;",
                "    location / {",
                "      grpc_pass grpc://sidecar;",
                "      grpc_read_timeout 600s;",
                "      grpc_send_timeout 600s;",
                "    }",
                "  }",
                "}",
                "");
    }

    /** Writes the configuration into {@code dir} and starts nginx in the foreground. */
    static ChildProcess start(Path nginx, Path dir, int port, Path socket) throws IOException {
        Files.createDirectories(dir);
        final boolean root = "root".equals(System.getProperty("user.name"));
        final Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, config(dir, port, socket, root), StandardCharsets.UTF_8);
        return ChildProcess.start("nginx",
                List.of(nginx.toString(), "-p", dir.toString(), "-c", conf.toString(), "-g", "daemon off;"),
                Map.of(), dir, dir.resolve("nginx.log"));
    }
}
