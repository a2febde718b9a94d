package io.weightpub.publisher.cli;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.SyntheticCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Writes a synthetic LLM-shaped safetensors checkpoint (BF16 weights, F32 norms),"
                + " deterministic from the seed.")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write into (created; must hold no checkpoint).")
    Path directory;

    @Option(names = "--target-size", converter = ByteSizeConverter.class, paramLabel = "SIZE",
            description = "Pick hidden size and layers to come close to SIZE (e.g. 64MiB, 10GiB);"
                    + " overrides the dimension options.")
    Long targetSize;

    @Option(names = "--hidden-size", defaultValue = "256", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hiddenSize;

    @Option(names = "--layers", defaultValue = "4", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--vocab-size", description = "Vocabulary size (default: min(32000, 32 x hidden size)).")
    Integer vocabSize;

    @Option(names = "--intermediate-size", description = "MLP size (default: 8/3 x hidden size, rounded up to 64).")
    Integer intermediateSize;

    @Option(names = "--heads", description = "Attention heads (default: hidden size / 64, or / 128 from 2048).")
    Integer heads;

    @Option(names = "--kv-heads", description = "Key/value heads (default: heads / 4).")
    Integer kvHeads;

    @Option(names = "--seed", defaultValue = "42", description = "PRNG seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--shards", defaultValue = "1",
            description = "Files to write; more than 1 adds model.safetensors.index.json (default: ${DEFAULT-VALUE}).")
    int shards;

    @Override
    public Integer call() throws Exception {
        SyntheticCheckpoint.Builder builder = SyntheticCheckpoint.builder().seed(seed).shards(shards);
        if (targetSize != null) {
            builder.targetBytes(targetSize);
        } else {
            builder.hiddenSize(hiddenSize).layers(layers);
            if (vocabSize != null) {
                builder.vocabSize(vocabSize);
            }
            if (intermediateSize != null) {
                builder.intermediateSize(intermediateSize);
            }
            if (heads != null) {
                builder.heads(heads);
            }
            if (kvHeads != null) {
                builder.kvHeads(kvHeads);
            }
        }
        SyntheticCheckpoint checkpoint = builder.build();
        long start = System.nanoTime();
        Path written = checkpoint.write(directory);
        double seconds = Math.max(System.nanoTime() - start, 1) / 1e9;
        spec.commandLine().getOut().printf(Locale.ROOT,
                "wrote %s: %d tensors, %s (%d bytes) in %d file(s); hidden=%d layers=%d vocab=%d seed=%d;"
                        + " %.2f s (%.1f MB/s)%n",
                written, checkpoint.tensors().size(), ByteSize.format(checkpoint.tensorBytes()),
                checkpoint.tensorBytes(), checkpoint.shards(), checkpoint.hiddenSize(), checkpoint.layers(),
                checkpoint.vocabSize(), checkpoint.seed(), seconds, checkpoint.tensorBytes() / 1e6 / seconds);
        return 0;
    }
}
