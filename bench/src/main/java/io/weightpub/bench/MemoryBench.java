package io.weightpub.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The job's heap and checkpointed state against the model size (one worker, host store): payload
 * bytes stream through and live off-heap in the store, so both should stay flat.
 */
public final class MemoryBench {

    static final String BENCH = "memory";

    private final Broker broker;
    private final int runs;
    private final long memoryBudget;
    private final int checkpointMs;

    public MemoryBench(Broker broker, int runs, long memoryBudget, int checkpointMs) {
        this.broker = broker;
        this.runs = runs;
        this.memoryBudget = memoryBudget;
        this.checkpointMs = checkpointMs;
    }

    public List<Measurement> run(List<Long> sizes) throws Exception {
        List<Measurement> out = new ArrayList<>();
        for (long size : sizes) {
            String c = Table.size(size);
            if (EndToEndBench.memoryNeeded(size, 1) > memoryBudget) {
                out.add(new Measurement(BENCH, c, -1, "skipped_needs_bytes", EndToEndBench.memoryNeeded(size, 1),
                        "bytes"));
                System.out.printf("skip memory %s: needs %s%n", c, Table.size(EndToEndBench.memoryNeeded(size, 1)));
                continue;
            }
            String prefix = "bench-mem-" + UUID.randomUUID().toString().substring(0, 8);
            Topics topics = Topics.bundled();
            topics.create(broker.bootstrap(), prefix);
            try {
                SyntheticModel.publish(broker.bootstrap(), prefix, "bench", 1, size);
                for (int r = 0; r < runs; r++) {
                    List<String> args = List.of("--mode", "job", "--bootstrap", broker.bootstrap(), "--prefix", prefix,
                            "--workers", "1", "--backend", "host", "--model", "bench", "--version", "1",
                            "--checkpoint-ms", String.valueOf(checkpointMs));
                    ChildJvm.Outcome outcome = ChildJvm.run(JobRunner.class.getName(), EndToEndBench.jobJvmArgs(),
                            args, 1800, null);
                    Map<String, String> res = JobRunner.parseResult(outcome.last(JobRunner.RESULT).orElseThrow(() ->
                            new IllegalStateException("the job printed no result:\n" + outcome.tail(40))));
                    for (String key : List.of("heap_live_max", "heap_max_used", "state_max", "checkpointed_max",
                            "slot_bytes", "bytes")) {
                        out.add(new Measurement(BENCH, c, r, key, EndToEndBench.num(res, key), "bytes"));
                    }
                    out.add(new Measurement(BENCH, c, r, "checkpoints", EndToEndBench.num(res, "checkpoints"), "count"));
                    out.add(new Measurement(BENCH, c, r, "gc_count", EndToEndBench.num(res, "gc_count"), "count"));
                    System.out.printf("memory %s run %d: live heap %s, peak heap %s, checkpointed state %s over %s "
                                    + "checkpoints, store %s off-heap%n", c, r + 1,
                            Table.size((long) EndToEndBench.num(res, "heap_live_max")),
                            Table.size((long) EndToEndBench.num(res, "heap_max_used")),
                            Table.size((long) EndToEndBench.num(res, "state_max")), res.get("checkpoints"),
                            Table.size((long) EndToEndBench.num(res, "slot_bytes")));
                }
            } finally {
                Topics.delete(broker.bootstrap(), topics.names(prefix));
            }
        }
        return out;
    }
}
