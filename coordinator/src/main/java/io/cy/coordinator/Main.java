package io.cy.coordinator;

import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.grpc.AccessLog;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/** {@code cy-coordinator [--config FILE]}: runs until SIGTERM or SIGINT. */
public final class Main {

    private static final String USAGE = String.join("\n",
            "usage: cy-coordinator [--config FILE] [--print-defaults]",
            "  --config FILE      YAML settings (default: $COORDINATOR_CONFIG, else built-in defaults)",
            "  --print-defaults   print every setting with its default and documentation, then exit",
            "Environment variables override the file: SIDECAR_GRPC_ADDR, COORDINATOR_GRPC_ADDR,",
            "COORDINATOR_UDS_PATH, CY_LLM_INTERNAL_TOKEN, and CY_<SETTING_PATH> for any setting.");

    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        final Logger logger = LoggerFactory.getLogger(Main.class);

        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config":
                    if (i + 1 >= args.length) {
                        exit(2, "--config: missing file name\n" + USAGE);
                    }
                    configFile = Path.of(args[++i]);
                    break;
                case "--print-defaults":
                    printDefaults();
                    return;
                case "-h":
                case "--help":
                    System.out.println(USAGE);
                    return;
                default:
                    exit(2, args[i] + ": unknown argument\n" + USAGE);
            }
        }
        final Map<String, String> env = System.getenv();
        if (configFile == null && env.get("COORDINATOR_CONFIG") != null && !env.get("COORDINATOR_CONFIG").isBlank()) {
            configFile = Path.of(env.get("COORDINATOR_CONFIG"));
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
        logger.info("configuration{}: {}", configFile == null ? " (no file)" : " from " + configFile, loader.describe());

        final Path file = configFile;
        final Coordinator coordinator;
        try {
            coordinator = Coordinator.start(config, config.log().access() ? new AccessLog() : summary -> { },
                    () -> ConfigLoader.load(file, System.getenv()).config());
        } catch (IOException e) {
            exit(1, "cy-coordinator: " + e.getMessage());
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(coordinator::shutdown, "cy-shutdown"));
        reloadOnHangup(coordinator, logger);
        coordinator.awaitTermination();
    }

    /** SIGHUP re-reads the configuration, as operators expect of a daemon. */
    private static void reloadOnHangup(Coordinator coordinator, Logger logger) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                try {
                    logger.info("SIGHUP: {}", coordinator.reloadConfiguration());
                } catch (ConfigException e) {
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

    private static void exit(int code, String message) {
        System.err.println(message);
        System.exit(code);
    }
}
