package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outlier ejection for one backend, after Envoy's consecutive failures: a sidecar whose last
 * {@code consecutive_failures} calls failed is ejected for {@code base_ejection_time} times the
 * number of times it has been ejected, at most {@code max_ejection_time}, and comes back by itself
 * when the time is up. Any success resets the run.
 *
 * <p>The cap: an ejection is allowed while the ejected sidecars, this one included, are at most
 * {@code max_ejection_percent} of the backend's; as in Envoy, one sidecar may always be ejected
 * when none is and the percent is above 0, so that a small backend still sheds its one bad
 * sidecar (with a single sidecar, that leaves none). A percent of 0 turns ejection off.
 */
public final class OutlierDetector {

    private static final Logger logger = LoggerFactory.getLogger(OutlierDetector.class);

    private final OutlierSettings settings;
    private final LongSupplier nanoTime;
    private final Clock clock;

    public OutlierDetector(OutlierSettings settings) {
        this(settings, System::nanoTime, Clock.systemUTC());
    }

    OutlierDetector(OutlierSettings settings, LongSupplier nanoTime, Clock clock) {
        this.settings = requireNonNull(settings, "settings");
        this.nanoTime = requireNonNull(nanoTime, "nanoTime");
        this.clock = requireNonNull(clock, "clock");
    }

    public OutlierSettings settings() {
        return settings;
    }

    /** A call on {@code sidecar} succeeded: its run of failures starts again. */
    public void succeeded(Sidecar sidecar) {
        sidecar.outlier().succeeded();
    }

    /**
     * A call on {@code sidecar}, one of {@code members}, failed in a way that counts ({@code what}:
     * its status code, such as UNAVAILABLE); returns true when this ejected it.
     */
    public boolean failed(Sidecar sidecar, List<Sidecar> members, String what) {
        final OutlierState state = sidecar.outlier();
        final int run = state.failed();
        if (run < settings.consecutiveFailures() || settings.maxEjectionPercent() == 0) {
            return false;
        }
        final long now = nanoTime.getAsLong();
        final OutlierState.Ejection ejection;
        synchronized (this) {
            if (state.isEjected(now)) {
                // Calls that were in flight when it was ejected.
                return false;
            }
            int ejected = 0;
            for (Sidecar member : members) {
                if (member.outlier().isEjected(now)) {
                    ejected++;
                }
            }
            if (ejected > 0 && (long) (ejected + 1) * 100 > (long) settings.maxEjectionPercent() * members.size()) {
                return false;
            }
            ejection = state.eject(now, clock.instant(), settings.baseEjectionTime().toNanos(),
                    settings.maxEjectionTime().toNanos(), run + " consecutive failures: " + what);
        }
        logger.warn("sidecar {} ejected for {} ms ({}): {}", sidecar, (ejection.untilNanos() - now) / 1_000_000,
                ordinal(state.timesEjected()), ejection.reason());
        return true;
    }

    private static String ordinal(int times) {
        return times == 1 ? "first ejection" : "ejection " + times;
    }
}
