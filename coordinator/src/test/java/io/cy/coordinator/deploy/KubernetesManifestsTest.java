package io.cy.coordinator.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * docker/k8s, parsed with fabric8's Kubernetes model: every field must be one the model knows (a
 * typo would otherwise be ignored by the API server's lenient clients), and the pieces must fit
 * together. Structure only: no cluster runs here.
 */
class KubernetesManifestsTest {

    private static final Path K8S = Path.of("..", "docker", "k8s");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theDeploymentRunsThreeReplicasWithProbesGraceAndResources() throws Exception {
        final Deployment deployment = parse("deployment.yaml", Deployment.class);
        final CoordinatorConfig config = configMapSettings();

        assertThat(deployment.getSpec().getReplicas()).isEqualTo(3);
        final var pod = deployment.getSpec().getTemplate().getSpec();
        final Container coordinator = pod.getContainers().get(0);
        assertThat(coordinator.getReadinessProbe().getGrpc().getPort()).isEqualTo(50050);
        assertThat(coordinator.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(coordinator.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("admin");
        final long preStop = coordinator.getLifecycle().getPreStop().getSleep().getSeconds();
        assertThat(pod.getTerminationGracePeriodSeconds())
                .isGreaterThanOrEqualTo(config.shutdown().grace().toSeconds() + preStop);
        assertThat(coordinator.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(coordinator.getResources().getLimits()).containsKeys("cpu", "memory");
        assertThat(coordinator.getPorts()).extracting(p -> p.getContainerPort()).containsExactly(50050, 8080, 9464);
        assertThat(deployment.getSpec().getSelector().getMatchLabels())
                .isEqualTo(deployment.getSpec().getTemplate().getMetadata().getLabels());
    }

    @Test
    void secretsComeFromTheSecretAndEveryKeyTheDeploymentReadsIsInTheExample() throws Exception {
        final Container coordinator = parse("deployment.yaml", Deployment.class).getSpec().getTemplate().getSpec()
                .getContainers().get(0);
        final Secret example = parse("secret.example.yaml", Secret.class);

        final Map<String, EnvVar> env = new java.util.HashMap<>();
        coordinator.getEnv().forEach(e -> env.put(e.getName(), e));
        for (String name : List.of("DB_URL", "CY_QUOTA_REDIS_URL", "CY_AUTH_HMAC_SECRET", "CY_LLM_INTERNAL_TOKEN")) {
            final var ref = env.get(name).getValueFrom().getSecretKeyRef();
            assertThat(ref.getName()).as(name).isEqualTo(example.getMetadata().getName());
            assertThat(example.getStringData()).as(name).containsKey(ref.getKey());
        }
    }

    @Test
    void theConfigMapHoldsSettingsTheCoordinatorAccepts() throws Exception {
        final CoordinatorConfig config = configMapSettings();
        final Deployment deployment = parse("deployment.yaml", Deployment.class);

        assertThat(config.quota().store().redis()).isTrue();
        assertThat(config.quota().store().replicasHint()).isEqualTo(deployment.getSpec().getReplicas());
        assertThat(config.server().grpcAddr().port()).isEqualTo(50050);
        assertThat(config.observability().adminAddr().port()).isEqualTo(9464);
        final Container coordinator = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(coordinator.getArgs()).containsExactly("--config", "/etc/cy/coordinator.yaml");
        assertThat(coordinator.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/etc/cy"));
    }

    @Test
    void theServiceHpaAndPdbSelectTheDeployment() throws Exception {
        final Deployment deployment = parse("deployment.yaml", Deployment.class);
        final Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
        final Service service = parse("service.yaml", Service.class);
        final HorizontalPodAutoscaler hpa = parse("hpa.yaml", HorizontalPodAutoscaler.class);
        final PodDisruptionBudget pdb = parse("pdb.yaml", PodDisruptionBudget.class);

        assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector());
        assertThat(service.getSpec().getPorts()).extracting(ServicePort::getName, ServicePort::getPort)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("grpc", 50050),
                        org.assertj.core.groups.Tuple.tuple("http", 8080),
                        org.assertj.core.groups.Tuple.tuple("admin", 9464));
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(deployment.getMetadata().getName());
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(deployment.getSpec().getReplicas());
        assertThat(hpa.getSpec().getMetrics().get(0).getResource().getName()).isEqualTo("cpu");
        assertThat(podLabels).containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
    }

    @Test
    void theKustomizationListsEveryManifestButTheExampleSecret() throws Exception {
        final var kustomization = YAML.readTree(K8S.resolve("kustomization.yaml").toFile());
        final List<String> listed = new java.util.ArrayList<>();
        kustomization.get("resources").forEach(n -> listed.add(n.asText()));

        assertThat(listed).containsExactlyInAnyOrder("configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml",
                "pdb.yaml");
        for (String file : listed) {
            assertThat(K8S.resolve(file)).exists();
        }
    }

    private static CoordinatorConfig configMapSettings() throws Exception {
        final ConfigMap configMap = parse("configmap.yaml", ConfigMap.class);
        final String yaml = configMap.getData().get("coordinator.yaml");
        // What the Secret provides at runtime.
        return ConfigLoader.fromYaml(yaml, Map.of("DB_URL", "postgresql://cy@db:5432/cy",
                "CY_QUOTA_REDIS_URL", "redis://redis:6379/0",
                "CY_AUTH_HMAC_SECRET", "0123456789abcdef0123456789abcdef")).config();
    }

    /** The file as {@code type}; fails on any field the model does not know. */
    private static <T> T parse(String file, Class<T> type) throws Exception {
        final String json = YAML.readTree(Files.readString(K8S.resolve(file))).toString();
        final T parsed = JSON.readValue(json, type);
        assertNoUnknownFields(parsed, file, Collections.newSetFromMap(new IdentityHashMap<>()));
        return parsed;
    }

    /** fabric8 keeps fields it does not know in additionalProperties instead of failing. */
    private static void assertNoUnknownFields(Object node, String where, Set<Object> seen) throws Exception {
        if (node == null || !seen.add(node) || !node.getClass().getName().startsWith("io.fabric8.")) {
            if (node instanceof Collection<?> items) {
                for (Object item : items) {
                    assertNoUnknownFields(item, where, seen);
                }
            } else if (node instanceof Map<?, ?> map) {
                for (Object value : map.values()) {
                    assertNoUnknownFields(value, where, seen);
                }
            }
            return;
        }
        for (Method getter : node.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get")
                    || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            final Object value = getter.invoke(node);
            if (getter.getName().equals("getAdditionalProperties")) {
                assertThat((Map<?, ?>) value).as(where + ": fields unknown to " + node.getClass().getSimpleName())
                        .isEmpty();
            } else {
                assertNoUnknownFields(value, where, seen);
            }
        }
    }
}
