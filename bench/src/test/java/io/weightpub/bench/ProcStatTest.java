package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProcStatTest {

    @Test
    void cpuTicksAreUserPlusSystemTimeEvenWhenTheCommandNameHoldsSpacesAndParentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
        String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 1000 0 3 0 1234 567 89 10 20 0 57 0 1000 "
                + "4000000000 50000 18446744073709551615";
        assertThat(ProcStat.cpuTicks(stat)).isEqualTo(1234 + 567);
    }

    @Test
    void thisProcessHasUsedSomeCpu() {
        assertThat(ProcStat.cpuMillis(ProcessHandle.current().pid())).isPresent();
        assertThat(ProcStat.cpuMillis(ProcessHandle.current().pid()).getAsLong()).isPositive();
    }

    @Test
    void coresAreCpuTimeOverWallTime() {
        assertThat(ProcStat.cores(3000, 2000)).isEqualTo(1.5);
        assertThat(ProcStat.cores(3000, 0)).isNaN();
    }
}
