package io.cy.coordinator;

import ch.qos.logback.classic.LoggerContext;
import io.cy.audit.DbUrl;
import io.cy.coordinator.audit.AuditQuery;
import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.logs.LogFormat;
import io.cy.coordinator.redis.SharedRoutesException;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.service.AccessLog;
import io.cy.coordinator.service.AccessLogAppender;
import io.cy.coordinator.transport.netty.NettyTransport;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/** {@code cy-coordinator [--config FILE]}: runs until SIGTERM or SIGINT. */
public final class Main {

    private static final String USAGE = String.join("\n",
            "usage: cy-coordinator [--config FILE] [--print-defaults]",
            "       cy-coordinator [--config FILE] --audit-query [--db-url URL] [SQL]",
            "  --config FILE      YAML settings (default: $COORDINATOR_CONFIG, else built-in defaults)",
            "  --print-defaults   print every setting with its default and documentation, then exit",
            "  --audit-query      run SQL (default: the 10 latest audit events) read-only on the audit",
            "                     database (--db-url, else DB_URL / audit.db_url), print the rows, exit",
            "Environment variables override the file: SIDECAR_GRPC_ADDR, COORDINATOR_GRPC_ADDR,",
            "COORDINATOR_UDS_PATH, CY_LLM_INTERNAL_TOKEN, DB_URL, and CY_<SETTING_PATH> for any setting.");

    /**
     * How long a SIGTERM during startup waits for it to end: the embedded database's own startup
     * wait (30 s) with room for the audit log's migrations and the OIDC discovery after it.
     */
    private static final Duration STARTUP_WAIT_ON_SIGNAL = Duration.ofSeconds(60);

    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        // First: the choice is read once, when Netty makes its default allocator.
        NettyTransport.usePooledAllocatorUnlessAsked();
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        NettyTransport.disableLeakDetectionUnlessAsked();
        final Logger logger = LoggerFactory.getLogger(Main.class);

        final MainArguments.Parsed parsed = MainArguments.parse(args);
        if (parsed instanceof MainArguments.Invalid invalid) {
            exit(invalid.exitCode(), invalid.problem() + "\n" + USAGE);
            return;
        }
        final MainArguments.Options options = (MainArguments.Options) parsed;
        switch (options.command()) {
            case HELP -> {
                System.out.println(USAGE);
                return;
            }
            case PRINT_DEFAULTS -> {
                printDefaults();
                return;
            }
            default -> { }
        }
        Path configFile = options.configFile();
        final Map<String, String> env = System.getenv();
        if (configFile == null && env.get("COORDINATOR_CONFIG") != null && !env.get("COORDINATOR_CONFIG").isBlank()) {
            configFile = Path.of(env.get("COORDINATOR_CONFIG"));
        }
        if (options.command() == MainArguments.Command.AUDIT_QUERY) {
            System.exit(queryAudit(configFile, env, options.dbUrl(), options.sql(), System.out, System.err));
        }

        final ConfigLoader loader;
        final CoordinatorConfig config;
        try {
            loader = ConfigLoader.load(configFile, env);
            config = loader.config();
        } catch (ConfigException e) {
            exit(2, "cy-coordinator: invalid configuration: " + e.getMessage());
            return;
        }
        if (config.observability().jsonLogs() && !LogFormat.useJson()) {
            logger.warn("logging.format: json is not applied: logging is not configured by the bundled logback.xml");
        }
        logger.info("configuration{}: {}", configFile == null ? " (no file)" : " from " + configFile, loader.describe());
        for (String warning : loader.warnings()) {
            logger.warn("configuration: {}", warning);
        }

        final Path file = configFile;
        // Before startup: a signal while an embedded database starts must not leave it running.
        final ShutdownHook shutdownHook = new ShutdownHook(STARTUP_WAIT_ON_SIGNAL, Main::stopLogging).register();
        final Coordinator coordinator;
        try {
            coordinator = Coordinator.start(config, Coordinator.accessLog(config),
                    () -> ConfigLoader.load(file, System.getenv()).config());
        } catch (IOException e) {
            shutdownHook.startFailed();
            exit(1, "cy-coordinator: " + e.getMessage());
            return;
        } catch (RuntimeException | Error e) {
            shutdownHook.startFailed();
            throw e;
        }
        shutdownHook.started(coordinator::shutdown);
        reloadOnHangup(coordinator, logger);
        coordinator.awaitTermination();
    }

    /**
     * {@code --audit-query}: the database is {@code dbUrlFlag}, else {@code audit.db_url} from the
     * file and environment (DB_URL). Only that setting is read, so the rest of a configuration
     * (a credential source, say) need not be there for a look at the audit log.
     *
     * @return the exit code: 0 when the rows were printed to {@code out}, 1 when the query or the
     *     database failed, 2 when no usable database is configured; {@code err} says why
     */
    static int queryAudit(Path configFile, Map<String, String> env, String dbUrlFlag, String sql,
                          PrintStream out, PrintStream err) {
        final DbUrl url;
        try {
            final String text = dbUrlFlag != null ? dbUrlFlag : ConfigLoader.load(configFile, env).auditDbUrl();
            if (text.isBlank()) {
                err.println(AuditQuery.FLAG + ": no audit database (expected: --db-url URL, or DB_URL set)");
                return MainArguments.BAD_ARGUMENTS;
            }
            url = DbUrl.parse(text);
        } catch (ConfigException | IllegalArgumentException e) {
            // Neither message holds a password.
            err.println(AuditQuery.FLAG + ": " + e.getMessage());
            return MainArguments.BAD_ARGUMENTS;
        }
        try {
            AuditQuery.run(url, sql, out);
            return 0;
        } catch (SQLException e) {
            err.println(AuditQuery.FLAG + ": " + url.redacted() + ": " + e.getMessage());
            return 1;
        }
    }

    /** SIGHUP re-reads the configuration, as operators expect of a daemon. */
    private static void reloadOnHangup(Coordinator coordinator, Logger logger) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                try {
                    logger.info("SIGHUP: {}", coordinator.reloadConfiguration());
                } catch (ConfigException | SharedRoutesException e) {
                    logger.error("SIGHUP: configuration not reloaded: {}", e.getMessage());
                }
            });
        } catch (IllegalArgumentException e) {
            logger.warn("SIGHUP is not available here; use the reload_config Control command");
        }
    }

    private static void printDefaults() {
        try (InputStream in = Main.class.getResourceAsStream("/cy-coordinator-defaults.yaml")) {
            System.out.write(in.readAllBytes());
            System.out.flush();
        } catch (IOException e) {
            exit(1, "cannot read the built-in defaults: " + e.getMessage());
        }
    }

    /**
     * Last at exit: the access log's queued lines reach stdout. Logback's own shutdown hook would
     * run alongside the coordinator's graceful shutdown and stop logging in the middle of it.
     */
    private static void stopLogging() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            stopLogging(context);
        }
    }

    /**
     * First the access log, while stdout's appender still takes its lines: logback stops the
     * root logger's appenders before those of other loggers, and the access log's waiting lines
     * would go to a stopped appender.
     */
    static void stopLogging(LoggerContext context) {
        final AccessLogAppender accessLog = AccessLogAppender.configured(context);
        if (accessLog != null) {
            accessLog.stop();
        }
        context.stop();
    }

    private static void exit(int code, String message) {
        System.err.println(message);
        System.exit(code);
    }
}
