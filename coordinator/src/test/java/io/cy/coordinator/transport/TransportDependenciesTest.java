package io.cy.coordinator.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The transport tree stays a transport: it imports grpc-api, Netty, SLF4J and the JDK, never the
 * coordinator's services, auth, quotas or config; and {@code wire}, which both sides share,
 * knows neither side.
 */
class TransportDependenciesTest {

    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)", Pattern.MULTILINE);
    private static final List<String> ALLOWED = List.of(
            "java.", "javax.net.", "javax.security.", "io.netty.", "io.grpc.", "org.slf4j.", "io.cy.coordinator.transport.");

    @Test
    void importsOnlyGrpcNettyAndTheJdk() throws IOException {
        final List<String> offending = new ArrayList<>();
        for (Path source : sources()) {
            for (String imported : imports(source)) {
                if (ALLOWED.stream().noneMatch(imported::startsWith)) {
                    offending.add(source.getFileName() + " imports " + imported);
                }
            }
        }
        assertThat(offending).isEmpty();
    }

    @Test
    void wireKnowsNeitherSide() throws IOException {
        final List<String> offending = new ArrayList<>();
        for (Path source : sources()) {
            if (!source.getParent().endsWith("wire")) {
                continue;
            }
            for (String imported : imports(source)) {
                if (imported.startsWith("io.cy.coordinator.transport.server")
                        || imported.startsWith("io.cy.coordinator.transport.client")) {
                    offending.add(source.getFileName() + " imports " + imported);
                }
            }
        }
        assertThat(offending).isEmpty();
    }

    private static List<Path> sources() throws IOException {
        final List<Path> sources = new ArrayList<>();
        for (Path root : List.of(Path.of("src/main/java/io/cy/coordinator/transport"),
                Path.of("../proto/src/main/java/io/cy/coordinator/transport"))) {
            assertThat(root).isDirectory();
            try (Stream<Path> files = Files.walk(root)) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(sources::add);
            }
        }
        assertThat(sources).hasSizeGreaterThan(10);
        return sources;
    }

    private static List<String> imports(Path source) throws IOException {
        final List<String> imports = new ArrayList<>();
        final Matcher matcher = IMPORT.matcher(Files.readString(source));
        while (matcher.find()) {
            imports.add(matcher.group(1));
        }
        return imports;
    }
}
