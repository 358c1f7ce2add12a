package io.cy.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Command-line flags of the form {@code --flag value} or {@code --flag=value}, and parsers for
 * their values whose messages name the flag, the value and what was expected.
 */
public final class Flags {

    /** One flag as given; {@code value} is null for a switch. */
    public record Flag(String name, String value) {}

    private Flags() {}

    /**
     * Splits the arguments into flags.
     *
     * @param valued flags that take a value
     * @param switches flags that take none
     */
    public static List<Flag> parse(List<String> args, Set<String> valued, Set<String> switches) throws UsageException {
        final List<Flag> flags = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            final String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument: " + arg);
            }
            final int eq = arg.indexOf('=');
            final String name = eq > 0 ? arg.substring(0, eq) : arg;
            if (switches.contains(name)) {
                if (eq > 0) {
                    throw new UsageException(name + ": takes no value");
                }
                flags.add(new Flag(name, null));
            } else if (valued.contains(name)) {
                if (eq > 0) {
                    flags.add(new Flag(name, arg.substring(eq + 1)));
                } else if (i + 1 < args.size()) {
                    flags.add(new Flag(name, args.get(++i)));
                } else {
                    throw new UsageException(name + ": missing value");
                }
            } else {
                throw new UsageException("unknown flag: " + name);
            }
        }
        return flags;
    }

    /** A whole number of at least {@code min}. */
    public static long atLeast(String flag, String value, long min) throws UsageException {
        final long n;
        try {
            n = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(flag + ": " + value + " (expected: a whole number >= " + min + ")");
        }
        if (n < min) {
            throw new UsageException(flag + ": " + value + " (expected: >= " + min + ")");
        }
        return n;
    }

    /** A whole number in {@code [min, max]}. */
    public static int inRange(String flag, String value, int min, int max) throws UsageException {
        final long n = atLeast(flag, value, min);
        if (n > max) {
            throw new UsageException(flag + ": " + value + " (expected: <= " + max + ")");
        }
        return (int) n;
    }

    /** A finite number of at least {@code min}. */
    public static double number(String flag, String value, double min) throws UsageException {
        final double x;
        try {
            x = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(flag + ": " + value + " (expected: a number >= " + format(min) + ")");
        }
        if (!(x >= min) || Double.isInfinite(x)) {
            throw new UsageException(flag + ": " + value + " (expected: a finite number >= " + format(min) + ")");
        }
        return x;
    }

    private static String format(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }
}
