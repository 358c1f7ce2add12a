package io.cy.coordinator.sidecar;

import static io.cy.coordinator.sidecar.TestSidecars.busy;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SessionAffinityRouterTest {

    private static final int KEYS = 2_000;
    private static final int THRESHOLD = 3;

    private final TestSidecars fixtures = new TestSidecars();
    private final SessionAffinityRouter router = new SessionAffinityRouter(THRESHOLD);

    @AfterEach
    void close() {
        fixtures.close();
    }

    private static RoutingKey key(String sticky) {
        return new RoutingKey(sticky, "User: hi\nAssistant:", "");
    }

    private Map<String, Sidecar> placeAll(SidecarRouter router, List<Sidecar> sidecars) {
        final Map<String, Sidecar> placed = new HashMap<>();
        for (int i = 0; i < KEYS; i++) {
            placed.put("tenant-" + i, router.pick(sidecars, List.of(), key("tenant-" + i)));
        }
        return placed;
    }

    @Test
    void aKeyStaysOnOneSidecarAndKeysSpreadEvenly() {
        final List<Sidecar> sidecars = fixtures.sidecars("s", 4);

        final Map<String, Sidecar> placed = placeAll(router, sidecars);

        for (int i = 0; i < 50; i++) {
            assertThat(router.pick(sidecars, List.of(), key("tenant-" + i))).isSameAs(placed.get("tenant-" + i));
        }
        for (Sidecar sidecar : sidecars) {
            final long share = placed.values().stream().filter(s -> s == sidecar).count();
            assertThat(share).as("keys on %s", sidecar).isBetween((long) KEYS / 4 - KEYS / 10, (long) KEYS / 4 + KEYS / 10);
        }
    }

    @Test
    void removingASidecarMovesOnlyItsKeysAndBringingItBackRestoresThem() {
        final List<Sidecar> sidecars = fixtures.sidecars("s", 4);
        final Map<String, Sidecar> before = placeAll(router, sidecars);
        final Sidecar leaving = sidecars.get(2);

        leaving.setDraining(true);
        final Map<String, Sidecar> during = placeAll(router, sidecars);
        leaving.setDraining(false);
        final Map<String, Sidecar> after = placeAll(router, sidecars);

        int moved = 0;
        for (String key : before.keySet()) {
            if (before.get(key) == leaving) {
                assertThat(during.get(key)).isNotSameAs(leaving);
                moved++;
            } else {
                assertThat(during.get(key)).as(key).isSameAs(before.get(key));
            }
        }
        assertThat(moved).isPositive();
        assertThat(new HashSet<>(during.values())).hasSize(3);
        assertThat(after).isEqualTo(before);
    }

    @Test
    void aNewSidecarTakesKeysOnlyFromTheOthers() {
        final List<Sidecar> four = fixtures.sidecars("s", 4);
        final Map<String, Sidecar> before = placeAll(router, four);
        final List<Sidecar> five = new ArrayList<>(four);
        final Sidecar joining = fixtures.sidecar("s4");
        five.add(joining);

        final Map<String, Sidecar> after = placeAll(router, five);

        int taken = 0;
        for (String key : before.keySet()) {
            if (after.get(key) == joining) {
                taken++;
            } else {
                assertThat(after.get(key)).as(key).isSameAs(before.get(key));
            }
        }
        assertThat(taken).isBetween(KEYS / 5 - KEYS / 10, KEYS / 5 + KEYS / 10);
    }

    @Test
    void anotherCoordinatorInFrontOfTheSameAddressesPlacesKeysAlike() {
        final Map<String, Sidecar> here = placeAll(router, fixtures.sidecars("s", 4));

        final Map<String, Sidecar> there = placeAll(new SessionAffinityRouter(THRESHOLD), fixtures.sidecars("s", 4));

        for (String key : here.keySet()) {
            assertThat(there.get(key).endpoint()).as(key).isEqualTo(here.get(key).endpoint());
        }
    }

    @Test
    void aBusyOwnerPastTheThresholdSendsTheCallToTheLeastLoaded() {
        final List<Sidecar> sidecars = fixtures.sidecars("s", 3);
        final Sidecar owner = router.pick(sidecars, List.of(), key("acme"));
        final Sidecar spare = sidecars.get((sidecars.indexOf(owner) + 1) % 3);
        busy(sidecars.get((sidecars.indexOf(owner) + 2) % 3), 1);

        busy(owner, THRESHOLD);
        assertThat(router.pick(sidecars, List.of(), key("acme"))).isSameAs(owner);

        busy(owner, 1);
        assertThat(router.pick(sidecars, List.of(), key("acme"))).isSameAs(spare);
    }

    @Test
    void withoutAKeyTheLeastLoadedRotate() {
        final List<Sidecar> sidecars = fixtures.sidecars("s", 3);
        busy(sidecars.get(1), 1);
        final Map<Sidecar, Integer> counts = new HashMap<>();

        for (int i = 0; i < 100; i++) {
            counts.merge(router.pick(sidecars, List.of(), RoutingKey.NONE), 1, Integer::sum);
        }

        assertThat(counts).containsOnlyKeys(sidecars.get(0), sidecars.get(2));
        assertThat(counts.values()).containsOnly(50);
    }

    @Test
    void theOwnerTriedAlreadyOrDownIsReplacedAndUnavailableOnesAreLastResorts() {
        final List<Sidecar> sidecars = fixtures.sidecars("s", 2);
        final Sidecar owner = router.pick(sidecars, List.of(), key("acme"));
        final Sidecar other = sidecars.get(1 - sidecars.indexOf(owner));

        assertThat(router.pick(sidecars, List.of(owner), key("acme"))).isSameAs(other);

        owner.markUnreachable("connection refused");
        assertThat(router.pick(sidecars, List.of(), key("acme"))).isSameAs(other);
        assertThat(router.pick(sidecars, List.of(other), key("acme"))).as("the last resort").isSameAs(owner);

        owner.recordTokenRefused("refused the internal token");
        assertThat(router.pick(sidecars, List.of(other), key("acme"))).isNull();
    }
}
