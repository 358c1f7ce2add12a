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
    void theDescriptionOfThisMachineNamesItsCoresAndJdk() {
        assertThat(Machine.describe())
                .startsWith(Runtime.getRuntime().availableProcessors() + " cores")
                .endsWith(System.getProperty("java.runtime.version"));
    }
}
