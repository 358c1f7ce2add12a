package io.cy.bench.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.UsageException;
import io.cy.coordinator.sidecar.Balance;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** 50 shared system prompts over 4 sidecars, in memory: what prefix affinity buys over least in flight. */
class PrefixReuseTest {

    private static RoutingCommand.Options options(String... args) throws UsageException {
        return RoutingCommand.parse(List.of(args));
    }

    @Test
    void prefixAffinitySendsPromptsWhereTheyWereSeenFarMoreOftenThanLeastInflight() throws Exception {
        final RoutingCommand.Options options = options("--calls", "2000");

        final PrefixReuse.Result spread = RoutingCommand.measure(options, Balance.LEAST_INFLIGHT);
        final PrefixReuse.Result affine = RoutingCommand.measure(options, Balance.PREFIX_AFFINITY);

        // least_inflight shows each of the 50 prompts to every sidecar: 200 first sightings at least
        assertThat(spread.calls() - spread.reused()).isGreaterThanOrEqualTo(200);
        assertThat(affine.calls() - affine.reused()).isLessThan(100);
        assertThat(affine.reuseRate()).isGreaterThan(spread.reuseRate() + 0.05);
        // with room for 16 prefixes per worker, spreading 50 prompts over 4 workers mostly misses
        assertThat(spread.cacheHitRate()).isLessThan(0.5);
        assertThat(affine.cacheHitRate()).isGreaterThan(0.9);
        // and the load stays spread: no sidecar takes much more than its quarter
        assertThat(affine.busiestShare()).isLessThan(0.35);
    }

    @Test
    void pastTheThresholdPrefixesMoveToTheLeastLoaded() throws Exception {
        final PrefixReuse.Result strict = RoutingCommand.measure(
                options("--calls", "2000", "--balance-threshold", "0"), Balance.PREFIX_AFFINITY);
        final PrefixReuse.Result loose = RoutingCommand.measure(
                options("--calls", "2000", "--balance-threshold", "1000"), Balance.PREFIX_AFFINITY);

        assertThat(strict.reuseRate()).isLessThan(loose.reuseRate());
        assertThat(strict.maxInflight()).isLessThan(loose.maxInflight());
    }

    @Test
    void theSameSeedGivesTheSameFigures() throws Exception {
        final RoutingCommand.Options options = options("--calls", "500", "--seed", "7");

        assertThat(RoutingCommand.measure(options, Balance.PREFIX_AFFINITY))
                .isEqualTo(RoutingCommand.measure(options, Balance.PREFIX_AFFINITY));
    }

    @Test
    void theCommandPrintsOneRowPerPolicy() {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();

        final int exit = RoutingCommand.run(List.of("--calls", "300"), print(out), print(err));

        assertThat(exit).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .startsWith("300 calls, 50 system prompts, 4 sidecars")
                .containsPattern("\nleast_inflight +\\d+\\.\\d%")
                .containsPattern("\nprefix_affinity +\\d+\\.\\d%");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void badFlagsNameTheFlagAndTheLimit() {
        assertThatThrownBy(() -> options("--sidecars", "0")).hasMessage("--sidecars: 0 (expected: >= 1)");
        assertThatThrownBy(() -> options("--calls", "x"))
                .hasMessage("--calls: x (expected: a whole number >= 1)");
        assertThatThrownBy(() -> options("--nope", "1")).hasMessage("unknown flag: --nope");
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
