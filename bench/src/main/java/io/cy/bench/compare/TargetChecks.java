package io.cy.bench.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The targets the coordinator is held to, checked against one comparison. A target whose
 * scenario did not run is left out; nothing here is loosened to pass.
 */
final class TargetChecks {

    enum Verdict { MET, MISSED, REPORTED }

    record Check(String target, String measured, Verdict verdict) {}

    static final double MAX_CPU_PER_CALL_US = 50;
    static final double MAX_CPU_VS_NGINX = 1.5;
    /** At 64 in flight, multiplexed (c64, h2load's -c 4 -m 16): at most nginx's CPU per call. */
    static final double MAX_CPU_VS_NGINX_MULTIPLEXED = 1.0;
    static final double OPEN_LOOP_TTFC_P50_MS = 0.2;
    static final double OPEN_LOOP_TTFC_P99_MS = 2;
    static final double OPEN_LOOP_GAP_P50_US = 20;
    static final double C1_TTFC_P50_MS = 0.1;
    static final double BRIDGE_CPU_VS_GRPC = 2;
    static final double BRIDGE_TTFC_P50_MS = 0.1;

    private TargetChecks() {}

    /**
     * @param coordinator the coordinator column held to the targets (governance on)
     * @param nginx the nginx column, or null when nginx did not run
     */
    static List<Check> evaluate(List<ScenarioResult> loads, List<MemoryResult> memory, String direct,
            String coordinator, String nginx) {
        final List<Check> checks = new ArrayList<>();
        for (ScenarioResult s : loads) {
            if (s.scenario().kind() == Scenario.Kind.BRIDGE) {
                bridge(checks, s);
                continue;
            }
            if (!s.has(coordinator) || !s.has(direct)) {
                continue;
            }
            final String name = s.scenario().name();
            if (s.scenario().tokens() == 16) {
                cost(checks, s, coordinator, nginx);
            }
            switch (name) {
                case "c1":
                    atMost(checks, "c1: added time to first chunk p50 <= " + ms(C1_TTFC_P50_MS),
                            s.medianAdded(coordinator, direct, Figure.TTFC_P50), C1_TTFC_P50_MS, TargetChecks::ms);
                    if (nginx != null && s.has(nginx)) {
                        // One call at a time, the coordinator adds no more time than a plain proxy.
                        atMostNginx(checks, "c1: added time to first chunk p50 <= nginx's", s, coordinator, nginx,
                                direct, Figure.TTFC_P50);
                        atMostNginx(checks, "c1: added call time p50 <= nginx's", s, coordinator, nginx, direct,
                                Figure.CALL_P50);
                    }
                    break;
                case "open500":
                    atMost(checks, "open500: added time to first chunk p50 <= " + ms(OPEN_LOOP_TTFC_P50_MS),
                            s.medianAdded(coordinator, direct, Figure.TTFC_P50), OPEN_LOOP_TTFC_P50_MS, TargetChecks::ms);
                    atMost(checks, "open500: added time to first chunk p99 <= " + ms(OPEN_LOOP_TTFC_P99_MS),
                            s.medianAdded(coordinator, direct, Figure.TTFC_P99), OPEN_LOOP_TTFC_P99_MS, TargetChecks::ms);
                    atMost(checks, "open500: added gap between chunks p50 <= " + us(OPEN_LOOP_GAP_P50_US),
                            s.medianAdded(coordinator, direct, Figure.GAP_P50), OPEN_LOOP_GAP_P50_US, TargetChecks::us);
                    break;
                case "c64":
                    final double through = s.median(coordinator, Figure.CALLS_PER_S);
                    final double straight = s.median(direct, Figure.CALLS_PER_S);
                    final long errors = errors(s, coordinator);
                    checks.add(new Check("c64: calls/s through vs direct (reported); no errors",
                            String.format(Locale.ROOT, "%.0f vs %.0f calls/s (%.2fx); %d errors", through, straight,
                                    s.medianRatio(coordinator, direct, Figure.CALLS_PER_S), errors),
                            errors == 0 ? Verdict.MET : Verdict.MISSED));
                    break;
                default:
                    break;
            }
        }
        for (MemoryResult m : memory) {
            final long errors = m.load().errorCount();
            final boolean allOpen = m.opened() >= m.streams();
            checks.add(new Check(String.format(Locale.ROOT, "%s: %,d concurrent open streams with a 512 MB heap, no errors",
                            m.scenario().name(), m.streams()),
                    String.format(Locale.ROOT, "%,d open at once, %d errors; %s heap, %s RSS per stream",
                            m.opened(), errors, kib(m.heapPerStream()), kib(m.rssPerStream())),
                    allOpen && errors == 0 ? Verdict.MET : Verdict.MISSED));
        }
        long errorsThrough = 0;
        for (ScenarioResult s : loads) {
            if (s.scenario().kind() == Scenario.Kind.BRIDGE) {
                // Every column of the bridge scenario goes through the governed coordinator.
                for (String target : s.targets()) {
                    errorsThrough += errors(s, target);
                }
            } else {
                errorsThrough += errors(s, coordinator);
            }
        }
        if (!loads.isEmpty()) {
            checks.add(new Check("no errors through the coordinator in any run",
                    errorsThrough + " errors", errorsThrough == 0 ? Verdict.MET : Verdict.MISSED));
        }
        return checks;
    }

    /** The HTTP bridge against gRPC into the same coordinator: what JSON and SSE may add. */
    private static void bridge(List<Check> checks, ScenarioResult s) {
        final String grpc = CompareCommand.GRPC;
        final String sse = CompareCommand.HTTP_SSE;
        if (!s.has(grpc) || !s.has(sse)) {
            return;
        }
        final String name = s.scenario().name();
        final double ratio = s.medianRatio(sse, grpc, Figure.PROXY_CPU);
        checks.add(new Check(name + ": bridge CPU per call <= " + BRIDGE_CPU_VS_GRPC + "x gRPC's",
                String.format(Locale.ROOT, "%.2fx (%s vs %s)", ratio, us(s.median(sse, Figure.PROXY_CPU)),
                        us(s.median(grpc, Figure.PROXY_CPU))),
                verdict(ratio, BRIDGE_CPU_VS_GRPC)));
        atMost(checks, name + ": bridge added time to first chunk p50 <= " + ms(BRIDGE_TTFC_P50_MS),
                s.medianAdded(sse, grpc, Figure.TTFC_P50), BRIDGE_TTFC_P50_MS, TargetChecks::ms);
    }

    private static void cost(List<Check> checks, ScenarioResult s, String coordinator, String nginx) {
        final String name = s.scenario().name();
        final double cpu = s.median(coordinator, Figure.PROXY_CPU);
        final double jit = s.median(coordinator, Figure.PROXY_JIT_CPU);
        // Judged on all of the process's CPU; the compiler's share is shown, not taken off.
        atMost(checks, name + ": coordinator CPU per call (16 tokens) <= " + us(MAX_CPU_PER_CALL_US),
                cpu, MAX_CPU_PER_CALL_US, x -> us(x) + (Double.isNaN(jit) ? "" : " (JIT compiler " + us(jit) + ")"));
        if (nginx != null && s.has(nginx)) {
            final double nginxCpu = s.median(nginx, Figure.PROXY_CPU);
            final double ratio = s.medianRatio(coordinator, nginx, Figure.PROXY_CPU);
            final double limit = "c64".equals(name) ? MAX_CPU_VS_NGINX_MULTIPLEXED : MAX_CPU_VS_NGINX;
            checks.add(new Check(name + ": coordinator CPU per call <= " + limit + "x nginx's",
                    String.format(Locale.ROOT, "%.2fx (%s vs %s)", ratio, us(cpu), us(nginxCpu)),
                    verdict(ratio, limit)));
        }
    }

    /** What the coordinator adds to a time, against what nginx adds, both over direct in the same pairs. */
    private static void atMostNginx(List<Check> checks, String target, ScenarioResult s, String coordinator,
            String nginx, String direct, Figure figure) {
        final double added = s.medianAdded(coordinator, direct, figure);
        final double nginxAdded = s.medianAdded(nginx, direct, figure);
        // Within a pair the coordinator's added time is at most nginx's exactly when its own time is.
        checks.add(new Check(target, ms(added) + " vs " + ms(nginxAdded) + " ("
                + s.atMostInPairs(coordinator, nginx, direct, figure).describe("nginx") + ")", verdict(added, nginxAdded)));
    }

    private static void atMost(List<Check> checks, String target, double measured, double limit,
            java.util.function.DoubleFunction<String> format) {
        checks.add(new Check(target, format.apply(measured), verdict(measured, limit)));
    }

    private static Verdict verdict(double measured, double limit) {
        return !Double.isNaN(measured) && measured <= limit ? Verdict.MET : Verdict.MISSED;
    }

    private static long errors(ScenarioResult s, String target) {
        long n = 0;
        for (RunFigures run : s.runs(target)) {
            n += run.result().errorCount();
        }
        return n;
    }

    static String ms(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.3f ms", x);
    }

    static String us(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.1f us", x);
    }

    static String kib(double bytes) {
        return Double.isNaN(bytes) ? "n/a" : String.format(Locale.ROOT, "%.1f KiB", bytes / 1024);
    }
}
