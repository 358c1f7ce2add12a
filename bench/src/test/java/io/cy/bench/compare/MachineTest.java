package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineTest {

    @TempDir
    Path dir;

    private static final List<String> TWO_PROCESSORS = List.of(
            "processor\t: 0",
            "vendor_id\t: AuthenticAMD",
            "cpu family\t: 26",
            "model\t\t: 2",
            "model name\t: AMD EPYC",
            "stepping\t: 1",
            "",
            "processor\t: 1",
            "vendor_id\t: AuthenticAMD",
            "cpu family\t: 25",
            "model\t\t: 17",
            "model name\t: AMD EPYC 9999",
            "");

    @Test
    void theCpuIsNamedWithTheFirstProcessorsFamilyAndModel() {
        assertThat(Machine.cpu(TWO_PROCESSORS)).isEqualTo("AMD EPYC (family 26, model 2)");
    }

    @Test
    void withoutFamilyOrModelTheNameStandsAlone() {
        assertThat(Machine.cpu(List.of("model name\t: Intel(R) Xeon(R) Processor", "cpu family\t: 6")))
                .isEqualTo("Intel(R) Xeon(R) Processor");
        assertThat(Machine.cpu(List.of("cpu family\t: 6", "model\t\t: 167"))).as("no name").isNull();
        assertThat(Machine.cpu(List.of())).isNull();
    }

    @Test
    void theClockSourceIsReadFromTheKernelsFileAndLeftOutWhenAbsent() throws Exception {
        assertThat(Machine.clockSource(Files.writeString(dir.resolve("current_clocksource"), "kvm-clock\n")))
                .isEqualTo("kvm-clock");
        assertThat(Machine.clockSource(Files.writeString(dir.resolve("empty"), "\n"))).isNull();
        assertThat(Machine.clockSource(dir.resolve("absent"))).isNull();
    }

    @Test
    void pageTableIsolationIsReadFromTheKernelsMeltdownFile() throws Exception {
        assertThat(Machine.pageTableIsolation(Files.writeString(dir.resolve("pti"), "Mitigation: PTI\n"))).isTrue();
        assertThat(Machine.pageTableIsolation(Files.writeString(dir.resolve("no"), "Not affected\n"))).isFalse();
        assertThat(Machine.pageTableIsolation(Files.writeString(dir.resolve("vulnerable"), "Vulnerable\n")))
                .isFalse();
        assertThat(Machine.pageTableIsolation(Files.writeString(dir.resolve("empty"), ""))).isNull();
        assertThat(Machine.pageTableIsolation(dir.resolve("absent"))).isNull();
    }

    @Test
    void aSystemCallIsTimedOnAFileAndNotWithoutOne() throws Exception {
        // Between a bare kernel entry on hardware (tens of ns) and a machine gone wrong.
        assertThat(Machine.systemCallMicros(Files.writeString(dir.resolve("file"), "x")))
                .isGreaterThan(0.001).isLessThan(1000);
        assertThat(Machine.systemCallMicros(dir.resolve("absent"))).isZero();
    }

    @Test
    void theMitigationsThatSlowTheKernelsCodeAreNamedWithTheirFirstClause() throws Exception {
        final Path amd = Files.createDirectory(dir.resolve("amd"));
        Files.writeString(amd.resolve("spectre_v2"), "Mitigation: Retpolines; STIBP: disabled; RSB filling\n");
        Files.writeString(amd.resolve("retbleed"), "Not affected\n");
        Files.writeString(amd.resolve("spec_rstack_overflow"), "Vulnerable: Safe RET, no microcode\n");
        Files.writeString(amd.resolve("meltdown"), "Not affected\n");
        final Path intel = Files.createDirectory(dir.resolve("intel"));
        Files.writeString(intel.resolve("spectre_v2"), "Mitigation: Enhanced / Automatic IBRS; IBPB: conditional\n");
        Files.writeString(intel.resolve("retbleed"), "Not affected\n");
        Files.writeString(intel.resolve("spec_rstack_overflow"), "Not affected\n");

        assertThat(Machine.kernelCodeMitigations(amd))
                .isEqualTo("spectre_v2 (Retpolines), spec_rstack_overflow (Vulnerable: Safe RET, no microcode)");
        assertThat(Machine.kernelCodeMitigations(intel)).isEqualTo("spectre_v2 (Enhanced / Automatic IBRS)");
        assertThat(Machine.kernelCodeMitigations(dir.resolve("absent"))).isEmpty();
    }

    @Test
    void aLoopbackWriteAndItsReadCostMoreThanASystemCall() {
        // Two system calls and TCP's send and receive paths against one that does nothing.
        final double loopback = Machine.loopbackMicros();
        assertThat(loopback).isGreaterThan(Machine.systemCallMicros(Path.of("/dev/null"))).isLessThan(1000);
    }

    @Test
    void theDescriptionOfThisMachineNamesItsCoresSystemCallAndJdk() {
        assertThat(Machine.describe())
                .startsWith(Runtime.getRuntime().availableProcessors() + " cores")
                .contains(", a system call (lseek) ")
                .contains(", a loopback TCP write and its read (64 bytes) ")
                .endsWith(System.getProperty("java.runtime.version"));
    }
}
