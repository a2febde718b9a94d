package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class EndToEndBenchTest {

    private static EndToEndBench.Plan plan(List<Integer> parallelisms, int consumers, int chunkPartitions) {
        return new EndToEndBench.Plan("e2e", "host", 3, parallelisms, consumers, chunkPartitions, -1, Long.MAX_VALUE,
                200, List.of(1, 2, 4), List.of(1L << 30), 1, List.of());
    }

    @Test
    void theChunksTopicGetsAPartitionForEveryReaderOfTheLargestParallelismOrConsumerGroup() {
        // the GPU host: 16 cores, parallelism up to 16, production topics have 6 chunk partitions
        assertThat(plan(List.of(1, 4, 8, 16), 0, 0).partitions(6, 16)).isEqualTo(16);
        // this machine: 2 cores, parallelism up to 4: the production count stays
        assertThat(plan(List.of(1, 2, 4), 0, 0).partitions(6, 2)).isEqualTo(6);
        assertThat(plan(List.of(1, 2), 12, 0).partitions(6, 2)).isEqualTo(12);
        assertThat(plan(List.of(1, 2), 0, 3).partitions(6, 16)).isEqualTo(3);
    }

    @Test
    void theConsumerGroupHasOneMemberPerCoreButNeverMoreThanPartitions() {
        assertThat(plan(List.of(1), 0, 0).groupSize(16, 16)).isEqualTo(16);
        assertThat(plan(List.of(1), 0, 0).groupSize(6, 16)).isEqualTo(6);
        assertThat(plan(List.of(1), 4, 0).groupSize(16, 16)).isEqualTo(4);
        assertThat(plan(List.of(1), 0, 0).groupSize(6, 2)).isEqualTo(2);
    }

    @Test
    void aPointIsNamedBySizeWorkersAndParallelism() {
        assertThat(EndToEndBench.caseName(4L << 30, 1, 8)).isEqualTo("4GiB/1w/p8");
        assertThat(CurveReport.point("16GiB/4w/p16").group(3)).isEqualTo("16");
        assertThat(CurveReport.point("budget")).isNull();
    }

    @Test
    void anExhaustedTimeBudgetSkipsAndListsThePointsThatWouldStartAfterIt() throws InterruptedException {
        TimeBudget none = TimeBudget.seconds(0);
        assertThat(none.allows("a")).isTrue();
        TimeBudget spent = TimeBudget.seconds(1);
        Thread.sleep(1100);
        assertThat(spent.allows("16GiB/1w/p8 run 2")).isFalse();
        assertThat(spent.skipped()).containsExactly("16GiB/1w/p8 run 2");
    }

    @Test
    void everyStageIsTimedByDefaultAndTheWholeJobWithHostStoresOnlyWhereTheStoresAreCuda() {
        BenchArgs none = BenchArgs.parse(new String[0]).allow(EndToEndBench.Plan.OPTIONS);
        EndToEndBench.Plan cuda = EndToEndBench.Plan.from(none, "e2e-gpu", "cuda", 1, Long.MAX_VALUE, 200, List.of(1),
                List.of(1L << 30));
        assertThat(cuda.stagesFor()).containsExactly("source", "checker", "network", "job-host");
        EndToEndBench.Plan host = EndToEndBench.Plan.from(none, "e2e", "host", 1, Long.MAX_VALUE, 200, List.of(1),
                List.of(1L << 30));
        assertThat(host.stagesFor()).containsExactly("source", "checker", "network");
        BenchArgs off = BenchArgs.parse(new String[] {"--stages", "none"}).allow(EndToEndBench.Plan.OPTIONS);
        assertThat(EndToEndBench.Plan.from(off, "e2e", "host", 1, Long.MAX_VALUE, 200, List.of(1), List.of(1L << 30))
                .stagesFor()).isEmpty();
        BenchArgs typo = BenchArgs.parse(new String[] {"--stages", "source,checkers"})
                .allow(EndToEndBench.Plan.OPTIONS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> EndToEndBench.Plan.from(typo, "e2e", "host", 1,
                Long.MAX_VALUE, 200, List.of(1), List.of(1L << 30))).hasMessageContaining("--stages checkers");
    }

    @Test
    void anUnknownBrokerKindIsRefusedByName() {
        BenchArgs args = BenchArgs.parse(new String[] {"--broker", "inprocess"}).allow(Broker.OPTIONS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Broker.open(args))
                .hasMessageContaining("--broker inprocess: expected standalone or embedded");
    }
}
