package io.cy.coordinator.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker/compose.yaml and its nginx.conf fit together: the services it promises, nginx balancing
 * over exactly the coordinators, and each coordinator's environment accepted by the coordinator.
 * Structure only: Docker does not run here.
 */
class ComposeFileTest {

    private static final Path DOCKER = Path.of("..", "docker");

    @Test
    void twoCoordinatorsBehindNginxWithRedisPostgresAndTwoSims() throws Exception {
        final JsonNode services = compose().get("services");
        final List<String> names = new ArrayList<>();
        services.fieldNames().forEachRemaining(names::add);

        assertThat(names).containsExactlyInAnyOrder("sim-1", "sim-2", "coordinator-1", "coordinator-2", "nginx",
                "redis", "postgres");
        assertThat(upstreams()).containsExactly("coordinator-1:50050", "coordinator-2:50050");
        assertThat(Files.readString(DOCKER.resolve("nginx.conf"))).contains("grpc_pass grpc://coordinators;");
    }

    @Test
    void eachCoordinatorSharesQuotasThroughTheRedisServiceAndReachesBothSims() throws Exception {
        final JsonNode services = compose().get("services");
        for (String name : List.of("coordinator-1", "coordinator-2")) {
            final Map<String, String> env = new HashMap<>();
            services.get(name).get("environment").fields()
                    .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText().replaceAll("\\$\\{[A-Z_]+:-([^}]*)}", "$1")));

            final CoordinatorConfig config = ConfigLoader.fromYaml("", env).config();

            assertThat(config.quota().store().redis()).as(name).isTrue();
            assertThat(config.quota().store().redisUrl()).as(name).startsWith("redis://redis:");
            assertThat(config.quota().store().replicasHint()).as(name).isEqualTo(2);
            assertThat(config.sidecars().addresses()).as(name).hasSize(2);
            assertThat(services.has("redis") && services.has("sim-1") && services.has("sim-2")).isTrue();
        }
    }

    private static JsonNode compose() throws Exception {
        return new ObjectMapper(new YAMLFactory()).readTree(DOCKER.resolve("compose.yaml").toFile());
    }

    private static List<String> upstreams() throws Exception {
        final Matcher m = Pattern.compile("^\\s*server\\s+([\\w.-]+:\\d+)\\s*;", Pattern.MULTILINE)
                .matcher(Files.readString(DOCKER.resolve("nginx.conf")));
        final List<String> servers = new ArrayList<>();
        while (m.find()) {
            servers.add(m.group(1));
        }
        return servers;
    }
}
