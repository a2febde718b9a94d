package io.weightpub.job;

import io.weightpub.job.assembly.ChunkChecker;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's first stages can be built on their own (what the benchmark measures stage by stage), and
 * they are the same operators, uids and parallelism as in the whole job.
 */
class WeightPublishingJobStagesTest {

    private static Configuration conf(int parallelism) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "127.0.0.1:1");
        conf.set(JobOptions.TOPIC_PREFIX, "stages");
        conf.set(JobOptions.PARALLELISM, parallelism);
        conf.set(JobOptions.STOP_AT_LATEST, true);
        return conf;
    }

    /** uid → parallelism of every node that has a uid. */
    private static Map<String, Integer> uids(StreamGraph graph) {
        return graph.getStreamNodes().stream().filter(n -> n.getTransformationUID() != null)
                .collect(Collectors.toMap(StreamNode::getTransformationUID, StreamNode::getParallelism));
    }

    @Test
    void theReadersAloneAreTheJobsSourceAtTheConfiguredParallelism() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        WeightPublishingJob.readInputs(env, conf(3)).sinkTo(new DiscardingSink<>()).uid("discard");

        assertThat(uids(env.getStreamGraph())).containsOnly(Map.entry("trainer-topics", 3), Map.entry("discard", 1));
    }

    @Test
    void theCheckersChainToTheReadersWithoutTheCoordinatorOrAnyKafkaSink() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        var checked = WeightPublishingJob.checkChunks(WeightPublishingJob.readInputs(env, conf(4)), conf(4));
        checked.getSideOutput(ChunkChecker.STAGE).sinkTo(new DiscardingSink<>()).uid("discard").setParallelism(4);

        assertThat(uids(env.getStreamGraph())).containsOnly(Map.entry("trainer-topics", 4),
                Map.entry("chunk-checker", 4), Map.entry("discard", 4));
    }

    @Test
    void theWholeJobIsBuiltFromTheSameStages() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        WeightPublishingJob.build(env, conf(4));

        assertThat(uids(env.getStreamGraph())).contains(Map.entry("trainer-topics", 4), Map.entry("chunk-checker", 4))
                .containsKeys("version-assembler", "weight-sink");
    }
}
