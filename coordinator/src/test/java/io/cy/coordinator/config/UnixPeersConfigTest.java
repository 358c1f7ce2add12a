package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.CoordinatorConfig.UnixPeerEntry.Match;
import io.cy.coordinator.config.CoordinatorConfig.UnixPeerEntry;
import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code auth.unix_peers} from YAML and from CY_AUTH_UNIX_PEERS, and upstream's plain socket paths. */
class UnixPeersConfigTest {

    private static CoordinatorConfig yaml(String yaml) {
        return ConfigLoader.fromYaml(yaml, Map.of()).config();
    }

    private static CoordinatorConfig env(Map<String, String> env) {
        return ConfigLoader.fromYaml("", env).config();
    }

    @Test
    void entriesFromYamlKeepTheirOrderTenantAndRoles() {
        final CoordinatorConfig config = yaml(String.join("\n",
                "auth:",
                "  unix_peers:",
                "    - {uid: 1000, tenant: default, roles: [user]}",
                "    - {gid: 2000, tenant: ops, roles: [user, admin]}",
                "    - {uid: 0, tenant: root}"));

        assertThat(config.auth().unixPeers()).containsExactly(
                new UnixPeerEntry(Match.UID, 1000, "default", List.of("user")),
                new UnixPeerEntry(Match.GID, 2000, "ops", List.of("user", "admin")),
                new UnixPeerEntry(Match.UID, 0, "root", List.of()));
    }

    @Test
    void theVariableTakesTheSameEntriesInItsOneLineForm() {
        final CoordinatorConfig config = env(Map.of("CY_AUTH_UNIX_PEERS",
                "uid=1000:tenant=default:roles=user,gid=2000:tenant=ops:roles=user+admin"));

        assertThat(config.auth().unixPeers()).containsExactly(
                new UnixPeerEntry(Match.UID, 1000, "default", List.of("user")),
                new UnixPeerEntry(Match.GID, 2000, "ops", List.of("user", "admin")));
    }

    @Test
    void theVariableReplacesTheFileAndMayEmptyTheList() {
        final String file = "auth: {api_keys: [{name: k, sha256: '" + "ab".repeat(32)
                + "', tenant: t}], unix_peers: [{uid: 1000, tenant: a}]}";

        assertThat(ConfigLoader.fromYaml(file, Map.of("CY_AUTH_UNIX_PEERS", "gid=5:tenant=b")).config()
                .auth().unixPeers()).containsExactly(new UnixPeerEntry(Match.GID, 5, "b", List.of()));
        assertThat(ConfigLoader.fromYaml(file, Map.of("CY_AUTH_UNIX_PEERS", "")).config().auth().unixPeers())
                .isEmpty();
    }

    @Test
    void unixPeersAloneAreACredentialSource() {
        // Only the local gateway calls, over the socket: no token source is needed.
        final CoordinatorConfig config = env(Map.of("CY_AUTH_UNIX_PEERS", "uid=1000:tenant=default:roles=user"));

        assertThat(config.auth().required()).isTrue();
        assertThat(config.auth().hasCredentialSource()).isTrue();
    }

    @Test
    void theFirstMatchingEntryIsTheOneThatCounts() {
        final UnixPeerEntry byUid = new UnixPeerEntry(Match.UID, 1000, "a", List.of());
        final UnixPeerEntry byGid = new UnixPeerEntry(Match.GID, 1000, "b", List.of());

        assertThat(byUid.matches(1000, 5)).isTrue();
        assertThat(byUid.matches(5, 1000)).isFalse();
        assertThat(byGid.matches(5, 1000)).isTrue();
        assertThat(byGid.matches(1000, 5)).isFalse();
        assertThat(byUid).hasToString("uid=1000");
        assertThat(byGid).hasToString("gid=1000");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "[{uid: 1, tenant: a}, {tenant: b}]           | auth.unix_peers[1].uid: missing (expected: exactly one of uid and gid)",
        "[{uid: 1, gid: 2, tenant: a}]                | auth.unix_peers[0].gid: set together with uid (expected: exactly one of uid and gid)",
        "[{uid: -1, tenant: a}]                       | auth.unix_peers[0].uid: -1 (expected: in [0, 4294967294])",
        "[{uid: 4294967295, tenant: a}]               | auth.unix_peers[0].uid: 4294967295 (expected: in [0, 4294967294])",
        "[{tenant: a}, {gid: alice, tenant: a}]       | auth.unix_peers[0].uid: missing (expected: exactly one of uid and gid)",
        "[{uid: 1, tenant: a}, {gid: alice, tenant: a}] | auth.unix_peers[1].gid: 'alice' (expected: a numeric gid in [0, 4294967294])",
        "[{uid: 1, tenant: ''}]                       | auth.unix_peers[0].tenant: empty (expected: the tenant these callers act for)",
        "[{uid: 1}]                                   | auth.unix_peers[0].tenant: empty (expected: the tenant these callers act for)",
        "[{uid: 1, tenant: a, role: [user]}]          | auth.unix_peers[0].role: unknown setting (expected one of: uid, gid, tenant, roles)",
        "uid=1000                                     | auth.unix_peers: a single value (expected: a list of mappings)",
    })
    void aBadEntryIsNamedByItsPath(String list, String message) {
        assertThatThrownBy(() -> yaml("auth: {unix_peers: " + list + "}"))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "uid=1000:tenant=a,gid=x:tenant=b   | CY_AUTH_UNIX_PEERS: entry 'gid=x:tenant=b': gid: 'x' (expected: a numeric gid in [0, 4294967294])",
        "uid=1000:tenant=a,tenant=b         | CY_AUTH_UNIX_PEERS: entry 'tenant=b': uid: missing (expected: exactly one of uid and gid)",
        "uid=1000                           | CY_AUTH_UNIX_PEERS: entry 'uid=1000': tenant: empty (expected: the tenant these callers act for)",
        "uid=1000:tenant=a:user=x           | CY_AUTH_UNIX_PEERS: entry 'uid=1000:tenant=a:user=x': unknown key 'user' (expected one of: uid, gid, tenant, roles)",
        "uid=1000:tenant=a:uid=2            | CY_AUTH_UNIX_PEERS: entry 'uid=1000:tenant=a:uid=2': uid given twice (expected: each key once)",
        "uid 1000:tenant=a                  | CY_AUTH_UNIX_PEERS: entry 'uid 1000:tenant=a': 'uid 1000' (expected: key=value fields separated by ':', e.g. uid=1000:tenant=default:roles=user+admin)",
    })
    void aBadVariableNamesItselfAndTheEntry(String value, String message) {
        assertThatThrownBy(() -> env(Map.of("CY_AUTH_UNIX_PEERS", value)))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void withoutAnyCredentialSourceTheErrorListsEveryWayIncludingUnixPeers() {
        // Upstream's own variables, as its deployment writes them, and nothing about auth.
        assertThatThrownBy(() -> env(Map.of(
                "WORKER_UDS_PATH", "/tmp/cy_worker_8001.sock",
                "WORKER_UDS_PATHS", "/tmp/cy_worker_8001.sock,/tmp/cy_worker_8002.sock",
                "COORDINATOR_UDS_PATH", "/tmp/cy_coordinator.sock")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("auth: mode is required but no credential source is configured (expected: OAUTH2_ISSUER,"
                        + " auth.hmac_secret, auth.api_keys, GATEWAY_API_TOKEN or auth.unix_peers (CY_AUTH_UNIX_PEERS)"
                        + " for callers on server.uds_path; or auth.client_certs with server.tls.client_ca_file;"
                        + " or auth.mode: none for local development)");
    }

    @Test
    void upstreamsPlainWorkerPathsAreUnixSockets() {
        final Map<String, String> peers = Map.of("CY_AUTH_UNIX_PEERS", "uid=1000:tenant=default");

        assertThat(env(with(peers, "WORKER_UDS_PATH", "/tmp/cy_worker_8001.sock")).sidecars().addresses())
                .containsExactly(unix("/tmp/cy_worker_8001.sock"));
        assertThat(env(with(peers, "WORKER_UDS_PATHS", "/tmp/cy_worker_8001.sock,/tmp/cy_worker_8002.sock"))
                .sidecars().addresses()).containsExactly(unix("/tmp/cy_worker_8001.sock"), unix("/tmp/cy_worker_8002.sock"));
        assertThat(env(with(peers, "SIDECAR_GRPC_ADDR", "/run/cy/sidecar.sock, localhost:50051")).sidecars().addresses())
                .containsExactly(unix("/run/cy/sidecar.sock"), Endpoint.tcp("localhost", 50051));
        assertThat(ConfigLoader.fromYaml("sidecars: {addresses: [/tmp/a.sock, \"unix:///tmp/b.sock\"]}", peers).config()
                .sidecars().addresses()).containsExactly(unix("/tmp/a.sock"), unix("/tmp/b.sock"));
    }

    @Test
    void aRelativeSidecarPathIsNamedWithItsIndex() {
        assertThatThrownBy(() -> yaml("auth: {mode: none}\nsidecars: {addresses: [/tmp/a.sock, run/b.sock]}"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("sidecars.addresses[1]: run/b.sock (expected: an absolute socket path such as"
                        + " /tmp/cy_sidecar.sock, or host:port)");
        assertThatThrownBy(() -> env(Map.of("CY_AUTH_MODE", "none", "WORKER_UDS_PATH", "tmp/cy_worker.sock")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("sidecars.addresses[0]: tmp/cy_worker.sock (expected: an absolute socket path");
    }

    private static Map<String, String> with(Map<String, String> env, String name, String value) {
        final java.util.HashMap<String, String> copy = new java.util.HashMap<>(env);
        copy.put(name, value);
        return copy;
    }

    private static Endpoint unix(String path) {
        return Endpoint.unix(Path.of(path));
    }
}
