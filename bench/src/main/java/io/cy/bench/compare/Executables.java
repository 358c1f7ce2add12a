package io.cy.bench.compare;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Finds a program the bench runs beside the project's own (nginx, h2load, perf) as a shell would. */
final class Executables {

    private Executables() {}

    /** The first executable {@code name} on the PATH, else in {@code usualDirs}, in their order. */
    static Optional<Path> find(String name, List<String> usualDirs) {
        final List<String> dirs = new ArrayList<>();
        final String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                dirs.add(dir.isEmpty() ? "." : dir);
            }
        }
        dirs.addAll(usualDirs);
        for (String dir : dirs) {
            final Path candidate = Path.of(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
