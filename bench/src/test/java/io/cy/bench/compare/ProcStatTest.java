package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ProcStatTest {

    @Test
    void readsFieldsAfterACommandNameWithSpacesAndParentheses() throws IOException {
        final ProcStat stat = ProcStat.parse(
                "4242 (a (b) c) S 1 4242 4242 0 -1 4194304 100 0 0 0 12 3 40 5 20 0 1 0 14002 3133440 393\n");

        assertThat(stat.comm()).isEqualTo("a (b) c");
        assertThat(stat.field(ProcStat.UTIME)).isEqualTo(12);
        assertThat(stat.cpuNanos()).isEqualTo(15 * ProcStat.NANOS_PER_TICK);
        assertThat(stat.reapedChildrenCpuNanos()).isEqualTo(45 * ProcStat.NANOS_PER_TICK);
    }

    @Test
    void aShortOrGarbledLineIsAnErrorNotAZero() throws IOException {
        assertThatThrownBy(() -> ProcStat.parse("no parentheses here")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> ProcStat.parse("1 (x) S 1 2").cpuNanos())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no field 14");
        assertThatThrownBy(() -> ProcStat.parse("1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3").cpuNanos())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("field 14");
    }

    @Test
    void readsThisProcess() throws IOException {
        final ProcStat stat = ProcStat.read(Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "stat"));

        assertThat(stat.comm()).isNotEmpty();
        assertThat(stat.cpuNanos()).isNotNegative();
        assertThat(ProcStat.read(Path.of("/proc/no-such-process/stat"))).isNull();
    }
}
