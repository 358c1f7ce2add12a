package io.cy.coordinator;

import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Settings of an audited test coordinator, and what its Health says about the audit log. */
final class AuditSetup {

    private AuditSetup() {}

    /**
     * The environment of a coordinator auditing to {@code dbUrl}, spooling to {@code spoolDir},
     * writing batches every 50 ms; {@code more} on top.
     */
    static Map<String, String> env(String dbUrl, Path spoolDir, Map<String, String> more) {
        final Map<String, String> env = new HashMap<>();
        env.put("CY_AUDIT_ENABLED", "true");
        env.put("DB_URL", dbUrl);
        env.put("CY_AUDIT_SPOOL_DIR", spoolDir.toString());
        env.put("CY_AUDIT_BATCH_INTERVAL", "50ms");
        env.putAll(more);
        return env;
    }

    /**
     * A database address where connections are refused at once: a port held bound on the loopback
     * interface, never listening, so that no other socket (a listener of the test's own) gets it
     * while the test runs.
     */
    static final class UnreachableDatabase implements AutoCloseable {

        private final Socket held = new Socket();

        UnreachableDatabase() throws IOException {
            held.setReuseAddress(false);
            held.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }

        String dbUrl() {
            return "postgresql://cy:not-used@127.0.0.1:" + held.getLocalPort() + "/cy_audit";
        }

        @Override
        public void close() throws IOException {
            held.close();
        }
    }

    /** The audit metrics of the coordinator's Health answer. */
    static Map<String, String> metrics(ManagedChannel channel) {
        return HealthAndControlTest.health(channel).getMetricsMap();
    }

    static long metric(ManagedChannel channel, String name) {
        return Long.parseLong(metrics(channel).get(name));
    }
}
