package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecutablesTest {

    @TempDir
    Path dir;

    @Test
    void aProgramOnThePathIsFoundThere() {
        assertThat(Executables.find("sh", List.of())).hasValueSatisfying(p -> {
            assertThat(p.getFileName()).hasToString("sh");
            assertThat(Files.isExecutable(p)).isTrue();
        });
    }

    @Test
    void aProgramOffThePathIsFoundInTheUsualPlacesAndOnlyWhenItMayRun() throws Exception {
        final Path plain = Files.writeString(dir.resolve("cy-not-on-path"), "#!/bin/sh\n");
        assertThat(Executables.find("cy-not-on-path", List.of(dir.toString()))).as("not executable").isEmpty();

        Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(Executables.find("cy-not-on-path", List.of("/nonexistent", dir.toString()))).hasValue(plain);
        assertThat(Executables.find("cy-not-on-path", List.of())).isEmpty();
    }
}
