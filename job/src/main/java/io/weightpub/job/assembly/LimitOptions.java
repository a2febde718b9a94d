package io.weightpub.job.assembly;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * The {@code limits.*} options: what one publish may declare. Users set them through
 * {@link io.weightpub.job.JobOptions}, which lists them; they live here, next to {@link PublishChecks},
 * so the checks do not depend on the job's entry package.
 */
@Internal
public final class LimitOptions {

    public static final ConfigOption<MemorySize> MAX_VERSION_BYTES = ConfigOptions.key("limits.max-version-bytes")
            .memoryType()
            .defaultValue(MemorySize.parse("1 tb"))
            .withDescription("Largest version a publish may declare (default 1 TiB). A larger publish is failed and quarantined "
                    + "before any of its chunks reaches a worker; set it to what one model may take on a worker.");

    public static final ConfigOption<Integer> MAX_BUCKETS = ConfigOptions.key("limits.max-buckets")
            .intType()
            .defaultValue(1 << 16)
            .withDescription("Most buckets one version may declare (1 TiB in 512 MiB buckets is 2,048).");

    public static final ConfigOption<Integer> MAX_CHUNKS = ConfigOptions.key("limits.max-chunks")
            .intType()
            .defaultValue(1 << 24)
            .withDescription("Most chunk records one version may declare, over all its buckets (1 TiB in the "
                    + "publisher's default 1020 KiB chunks is about 1.1 million).");

    public static final ConfigOption<MemorySize> MAX_CHUNK_BYTES = ConfigOptions.key("limits.max-chunk-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(64))
            .withDescription("Largest payload of one chunk record (the publisher cuts chunks of 1 byte to 64 MiB).");

    public static final ConfigOption<Integer> MAX_TENSORS = ConfigOptions.key("limits.max-tensors")
            .intType()
            .defaultValue(1 << 20)
            .withDescription("Most tensors one manifest may describe.");

    public static final ConfigOption<MemorySize> MAX_MANIFEST_BYTES = ConfigOptions.key("limits.max-manifest-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(64))
            .withDescription("Largest manifest record the job decodes and keeps in state until its publish completes.");

    public static final ConfigOption<Long> MAX_STEP_JUMP = ConfigOptions.key("limits.max-step-jump")
            .longType()
            .defaultValue(1_000_000L)
            .withDescription("How far a publish's trainer step may be past the model's step watermark (the step "
                    + "of its last published version); a publish further ahead is rejected and quarantined, so "
                    + "one wrong step cannot make every later publish stale. The first publish of a model, or "
                    + "the first after `weightpub reset-step` without --step, is not bounded.");

    private LimitOptions() {}
}
