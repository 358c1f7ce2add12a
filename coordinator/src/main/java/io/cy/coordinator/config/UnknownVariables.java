package io.cy.coordinator.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code CY_} environment variables that name no setting. The YAML file's unknown keys stop
 * startup; a variable cannot be checked as strictly (the environment is shared with everything
 * else the process runs), so each is reported with the setting it most likely meant.
 */
final class UnknownVariables {

    static final String PREFIX = "CY_";

    /** @param closest the variable of the nearest setting, by edit distance */
    record Unknown(String name, String closest) {
        String problem() {
            return "names no setting (closest: " + closest + ")";
        }
    }

    private UnknownVariables() {}

    /**
     * The {@code CY_} names in {@code names} that are neither a setting's {@code CY_<PATH>} for
     * one of {@code settingPaths} nor one of {@code otherKnown}, sorted by name.
     */
    static List<Unknown> find(Collection<String> names, Collection<String> settingPaths, Collection<String> otherKnown) {
        final Set<String> known = new HashSet<>(otherKnown);
        for (String path : settingPaths) {
            known.add(variableOf(path));
        }
        final List<Unknown> unknown = new ArrayList<>();
        names.stream().filter(n -> n.startsWith(PREFIX) && !known.contains(n)).sorted()
                .forEach(n -> unknown.add(new Unknown(n, closest(n, known))));
        return unknown;
    }

    /** {@code CY_} and the path in upper case with {@code _} for {@code .}: {@code CY_LIMITS_MAX_NEW_TOKENS}. */
    static String variableOf(String path) {
        return PREFIX + path.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    private static String closest(String name, Set<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates.stream().sorted().toList()) {
            final int d = distance(name, candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Levenshtein distance: insertions, deletions and substitutions each cost one. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                final int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            final int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
