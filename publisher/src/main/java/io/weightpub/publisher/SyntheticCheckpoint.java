package io.weightpub.publisher;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightpub.publisher.internal.SafetensorsFile;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes synthetic checkpoints shaped like a Llama-style LLM, as Hugging Face stores them:
 * {@code model.embed_tokens}, N decoder layers (q/k/v/o projections with grouped-query
 * attention, gate/up/down MLP projections, input and post-attention RMS norms), the final norm
 * and {@code lm_head}. Weights are BF16 (small values, like trained weights), norms F32 (near 1).
 * The bytes are a pure function of the configuration and the seed, generated with a fast PRNG and
 * written through a {@link FileChannel} in large blocks, so many gigabytes write at disk speed.
 */
@PublicEvolving
public final class SyntheticCheckpoint {

    /** One tensor of the checkpoint. */
    public record TensorSpec(String name, DType dtype, long[] shape) {
        public TensorSpec {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            return TensorSource.numel(name, shape) * dtype.itemSize();
        }
    }

    private static final int WRITE_BLOCK = 8 << 20;
    private static final int MIN_LAYERS_FOR_TARGET = 16;
    private static final int[] HIDDEN_LADDER = {64, 128, 256, 512, 1024, 2048, 3072, 4096, 5120, 8192};

    private final int hiddenSize;
    private final int layers;
    private final int vocabSize;
    private final int intermediateSize;
    private final int heads;
    private final int kvHeads;
    private final long seed;
    private final int shards;
    private final List<TensorSpec> tensors;

    private SyntheticCheckpoint(int hiddenSize, int layers, int vocabSize, int intermediateSize, int heads,
            int kvHeads, long seed, int shards) {
        this.hiddenSize = hiddenSize;
        this.layers = layers;
        this.vocabSize = vocabSize;
        this.intermediateSize = intermediateSize;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.seed = seed;
        this.shards = shards;
        this.tensors = List.copyOf(specs());
    }

    public static Builder builder() {
        return new Builder();
    }

    private List<TensorSpec> specs() {
        long h = hiddenSize;
        long kvDim = h / heads * kvHeads;
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", DType.BF16, new long[] {vocabSize, h}));
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", DType.BF16, new long[] {h, h}));
            specs.add(new TensorSpec(p + "self_attn.k_proj.weight", DType.BF16, new long[] {kvDim, h}));
            specs.add(new TensorSpec(p + "self_attn.v_proj.weight", DType.BF16, new long[] {kvDim, h}));
            specs.add(new TensorSpec(p + "self_attn.o_proj.weight", DType.BF16, new long[] {h, h}));
            specs.add(new TensorSpec(p + "mlp.gate_proj.weight", DType.BF16, new long[] {intermediateSize, h}));
            specs.add(new TensorSpec(p + "mlp.up_proj.weight", DType.BF16, new long[] {intermediateSize, h}));
            specs.add(new TensorSpec(p + "mlp.down_proj.weight", DType.BF16, new long[] {h, intermediateSize}));
            specs.add(new TensorSpec(p + "input_layernorm.weight", DType.F32, new long[] {h}));
            specs.add(new TensorSpec(p + "post_attention_layernorm.weight", DType.F32, new long[] {h}));
        }
        specs.add(new TensorSpec("model.norm.weight", DType.F32, new long[] {h}));
        specs.add(new TensorSpec("lm_head.weight", DType.BF16, new long[] {vocabSize, h}));
        return specs;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int layers() {
        return layers;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int intermediateSize() {
        return intermediateSize;
    }

    public int heads() {
        return heads;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public long seed() {
        return seed;
    }

    public int shards() {
        return shards;
    }

    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Bytes of tensor data, headers excluded. */
    public long tensorBytes() {
        return tensors.stream().mapToLong(TensorSpec::byteSize).sum();
    }

    /**
     * Writes the checkpoint into {@code directory} (created if missing; it must not hold a
     * checkpoint already): {@code model.safetensors}, or with several shards
     * {@code model-0000i-of-0000n.safetensors} plus {@code model.safetensors.index.json}.
     *
     * @return the directory, ready for {@link SafetensorsCheckpoint#open}
     */
    public Path write(Path directory) throws IOException {
        Files.createDirectories(directory);
        try (DirectoryStream<Path> existing = Files.newDirectoryStream(directory, "*.safetensors*")) {
            for (Path p : existing) {
                throw new IOException(directory + " already holds a checkpoint (" + p.getFileName()
                        + "); write into an empty directory");
            }
        }
        List<List<Integer>> groups = shardGroups();
        ByteBuffer block = ByteBuffer.allocateDirect(WRITE_BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int s = 0; s < groups.size(); s++) {
            String fileName = groups.size() == 1 ? "model.safetensors"
                    : String.format("model-%05d-of-%05d.safetensors", s + 1, groups.size());
            writeFile(directory.resolve(fileName), groups.get(s), block);
            for (int t : groups.get(s)) {
                weightMap.put(tensors.get(t).name(), fileName);
            }
        }
        if (groups.size() > 1) {
            Map<String, Object> index = new LinkedHashMap<>();
            index.put("metadata", Map.of("total_size", tensorBytes()));
            index.put("weight_map", weightMap);
            new ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValue(directory.resolve(SafetensorsCheckpoint.INDEX_FILE).toFile(), index);
        }
        return directory;
    }

    /** Consecutive tensors per shard, about equal bytes each, none empty. */
    private List<List<Integer>> shardGroups() {
        long perShard = Math.max(1, tensorBytes() / shards);
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long currentBytes = 0;
        for (int i = 0; i < tensors.size(); i++) {
            int tensorsLeft = tensors.size() - i;
            int shardsLeft = shards - groups.size() - 1;
            if (!current.isEmpty() && shardsLeft > 0 && (currentBytes >= perShard || tensorsLeft <= shardsLeft)) {
                groups.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(i);
            currentBytes += tensors.get(i).byteSize();
        }
        groups.add(current);
        return groups;
    }

    private void writeFile(Path path, List<Integer> tensorIndexes, ByteBuffer block) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put(SafetensorsFile.METADATA_KEY, Map.of("format", "pt", "generator", "weightpub-synthetic",
                "seed", Long.toString(seed)));
        long offset = 0;
        for (int t : tensorIndexes) {
            TensorSpec spec = tensors.get(t);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", spec.dtype().safetensorsName());
            entry.put("shape", spec.shape());
            entry.put("data_offsets", new long[] {offset, offset + spec.byteSize()});
            header.put(spec.name(), entry);
            offset += spec.byteSize();
        }
        byte[] json = new ObjectMapper().writeValueAsBytes(header);
        // the data section starts 8-byte aligned, as the safetensors writer pads with spaces
        int padded = (int) BucketPlanner.alignUp(8 + json.length, 8) - 8;
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            block.clear();
            block.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                block.put((byte) ' ');
            }
            for (int t : tensorIndexes) {
                TensorSpec spec = tensors.get(t);
                SplittableRandom random = new SplittableRandom(seed + t * 0x9E3779B97F4A7C15L);
                long left = spec.byteSize();
                while (left > 0) {
                    if (block.remaining() < 8) {
                        drain(out, block);
                    }
                    int n = (int) Math.min(left, block.remaining() & ~7);
                    fill(block, n, spec.dtype(), random);
                    left -= n;
                }
            }
            drain(out, block);
        }
    }

    /** Appends {@code n} pseudo-random bytes shaped like values of {@code dtype}. */
    private static void fill(ByteBuffer block, int n, DType dtype, SplittableRandom random) {
        // BF16 lanes: random sign, exponent 120..123, random mantissa: |x| in [2^-7, 2^-3).
        // F32 lanes: 1.0 with random low mantissa bits, like trained RMS norm weights.
        long mask = dtype == DType.F32 ? 0x0003FFFF0003FFFFL : 0x81FF81FF81FF81FFL;
        long bits = dtype == DType.F32 ? 0x3F8000003F800000L : 0x3C003C003C003C00L;
        int longs = n >>> 3;
        for (int i = 0; i < longs; i++) {
            block.putLong((random.nextLong() & mask) | bits);
        }
        int tail = n & 7;
        if (tail > 0) {
            long last = (random.nextLong() & mask) | bits;
            for (int i = 0; i < tail; i++) {
                block.put((byte) (last >>> (8 * i)));
            }
        }
    }

    private static void drain(FileChannel out, ByteBuffer block) throws IOException {
        block.flip();
        while (block.hasRemaining()) {
            out.write(block);
        }
        block.clear();
    }

    @Override
    public String toString() {
        return "SyntheticCheckpoint{hidden=" + hiddenSize + ", layers=" + layers + ", vocab=" + vocabSize
                + ", intermediate=" + intermediateSize + ", heads=" + heads + "/" + kvHeads + ", seed=" + seed
                + ", shards=" + shards + ", " + ByteSize.format(tensorBytes()) + "}";
    }

    /** Dimensions of the synthetic model; {@link #targetBytes} picks them from a size instead. */
    public static final class Builder {
        private int hiddenSize = 256;
        private int layers = 4;
        private int vocabSize = -1;
        private int intermediateSize = -1;
        private int heads = -1;
        private int kvHeads = -1;
        private long seed = 42;
        private int shards = 1;

        private Builder() {
        }

        public Builder hiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        /** Defaults to min(32000, 32 x hidden size). */
        public Builder vocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /** Defaults to 8/3 of the hidden size, rounded up to a multiple of 64 (Llama's SwiGLU ratio). */
        public Builder intermediateSize(int intermediateSize) {
            this.intermediateSize = intermediateSize;
            return this;
        }

        /** Attention heads; defaults to hidden size / 64 (head dim 64), or / 128 from 2048 on. */
        public Builder heads(int heads) {
            this.heads = heads;
            return this;
        }

        /** Key/value heads (grouped-query attention); defaults to heads / 4. */
        public Builder kvHeads(int kvHeads) {
            this.kvHeads = kvHeads;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Files to split the checkpoint into; more than one adds model.safetensors.index.json. */
        public Builder shards(int shards) {
            this.shards = shards;
            return this;
        }

        /**
         * Picks the hidden size (the largest on a ladder from 64 to 8192 that still leaves room
         * for 16 layers, as real models are deep) and the layer count so the tensors come close
         * to, without exceeding, {@code bytes} (at least one layer at hidden size 64: about 0.7 MB).
         */
        public Builder targetBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("target size must be positive, was " + bytes);
            }
            int chosen = HIDDEN_LADDER[0];
            for (int h : HIDDEN_LADDER) {
                if (fixedBytes(h) + MIN_LAYERS_FOR_TARGET * layerBytes(h) <= bytes) {
                    chosen = h;
                }
            }
            hiddenSize = chosen;
            vocabSize = -1;
            intermediateSize = -1;
            heads = -1;
            kvHeads = -1;
            layers = (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                    (bytes - fixedBytes(chosen)) / layerBytes(chosen)));
            return this;
        }

        private static int defaultVocab(int h) {
            return (int) Math.min(32_000L, 32L * h);
        }

        private static int defaultIntermediate(int h) {
            return (int) BucketPlanner.alignUp((8L * h + 2) / 3, 64);
        }

        private static int defaultHeads(int h) {
            return Math.max(1, h / (h >= 2048 ? 128 : 64));
        }

        private static long fixedBytes(int h) {
            return 2L * defaultVocab(h) * h * 2 + 4L * h;
        }

        private static long layerBytes(int h) {
            int heads = defaultHeads(h);
            long kvDim = (long) h / heads * Math.max(1, heads / 4);
            return 2L * (2L * h * h + 2L * kvDim * h + 3L * defaultIntermediate(h) * h) + 2 * 4L * h;
        }

        public SyntheticCheckpoint build() {
            if (hiddenSize <= 0 || layers <= 0) {
                throw new IllegalArgumentException("hidden size and layers must be positive, were "
                        + hiddenSize + " and " + layers);
            }
            int vocab = vocabSize < 0 ? defaultVocab(hiddenSize) : vocabSize;
            int intermediate = intermediateSize < 0 ? defaultIntermediate(hiddenSize) : intermediateSize;
            int q = heads < 0 ? defaultHeads(hiddenSize) : heads;
            int kv = kvHeads < 0 ? Math.max(1, q / 4) : kvHeads;
            if (vocab <= 0 || intermediate <= 0 || q <= 0 || kv <= 0) {
                throw new IllegalArgumentException("vocab size, intermediate size and head counts must be positive");
            }
            if (hiddenSize % q != 0 || q % kv != 0) {
                throw new IllegalArgumentException("hidden size " + hiddenSize + " must be a multiple of the "
                        + q + " heads, and heads a multiple of the " + kv + " key/value heads");
            }
            int tensorCount = 3 + 9 * layers;
            if (shards < 1 || shards > tensorCount) {
                throw new IllegalArgumentException("shards must be between 1 and the " + tensorCount
                        + " tensors, was " + shards);
            }
            return new SyntheticCheckpoint(hiddenSize, layers, vocab, intermediate, q, kv, seed, shards);
        }
    }
}
