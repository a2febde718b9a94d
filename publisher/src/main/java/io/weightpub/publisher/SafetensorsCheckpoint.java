package io.weightpub.publisher;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightpub.publisher.internal.SafetensorsFile;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors checkpoint, memory-mapped and fully validated on {@link #open}: a single
 * {@code .safetensors} file, a directory with {@code model.safetensors.index.json} (Hugging Face
 * sharding: its {@code weight_map} names each tensor's shard), or a directory of
 * {@code *.safetensors} files. Tensors come shard by shard (in file name order), each shard's in
 * the order of their data, so publishing reads the files front to back.
 */
@PublicEvolving
public final class SafetensorsCheckpoint implements AutoCloseable {

    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String EXTENSION = ".safetensors";

    private final Path location;
    private final List<SafetensorsFile> files;
    private final List<TensorSource> tensors;
    private final Map<String, TensorSource> byName;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(Path location, List<SafetensorsFile> files) throws CheckpointFormatException {
        this.location = location;
        this.files = List.copyOf(files);
        List<TensorSource> all = new ArrayList<>();
        Map<String, TensorSource> byName = new HashMap<>();
        Map<String, Path> fileOf = new HashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (SafetensorsFile file : files) {
            for (TensorSource t : file.tensors()) {
                Path other = fileOf.putIfAbsent(t.name(), file.path());
                if (other != null) {
                    throw new CheckpointFormatException(file.path(), t.name(), "also stored in " + other);
                }
                all.add(t);
                byName.put(t.name(), t);
            }
            file.metadata().forEach(metadata::putIfAbsent);
        }
        this.tensors = List.copyOf(all);
        this.byName = Map.copyOf(byName);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens and validates a checkpoint. Fails with a {@link CheckpointFormatException} naming the
     * file and tensor when anything is malformed, before any byte could be published.
     */
    public static SafetensorsCheckpoint open(Path location) throws IOException {
        if (Files.isRegularFile(location)) {
            return fromFiles(location, List.of(location));
        }
        if (!Files.isDirectory(location)) {
            throw new CheckpointFormatException(location, null, "no such file or directory");
        }
        Path index = location.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(location, index);
        }
        List<Path> shards = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(location, "*" + EXTENSION)) {
            dir.forEach(shards::add);
        }
        if (shards.isEmpty()) {
            throw new CheckpointFormatException(location, null,
                    "holds neither " + INDEX_FILE + " nor any *" + EXTENSION + " file");
        }
        Collections.sort(shards);
        return fromFiles(location, shards);
    }

    private static SafetensorsCheckpoint openSharded(Path dir, Path index) throws IOException {
        JsonNode weightMap;
        try {
            JsonNode root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .readTree(index.toFile());
            weightMap = root == null ? null : root.get("weight_map");
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(index, null, "is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointFormatException(index, null, "has no \"weight_map\" object of tensor name -> shard file");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        Set<String> shardNames = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            String shard = e.getValue().asText();
            // a shard must be a plain file name inside the checkpoint directory
            if (!e.getValue().isTextual() || shard.isEmpty()
                    || !dir.normalize().equals(dir.resolve(shard).normalize().getParent())) {
                throw new CheckpointFormatException(index, e.getKey(),
                        "weight_map value " + e.getValue() + " is not a file name in " + dir);
            }
            shardOf.put(e.getKey(), shard);
            shardNames.add(shard);
        }
        List<Path> shards = new ArrayList<>();
        for (String shard : shardNames) {
            Path path = dir.resolve(shard);
            if (!Files.isRegularFile(path)) {
                String tensor = shardOf.entrySet().stream().filter(e -> e.getValue().equals(shard))
                        .findFirst().map(Map.Entry::getKey).orElseThrow();
                throw new CheckpointFormatException(index, tensor, "its shard " + shard + " does not exist");
            }
            shards.add(path);
        }
        Collections.sort(shards);
        SafetensorsCheckpoint checkpoint = fromFiles(dir, shards);
        try {
            for (Map.Entry<String, String> e : shardOf.entrySet()) {
                if (!checkpoint.byName.containsKey(e.getKey())) {
                    throw new CheckpointFormatException(index, e.getKey(), "is not in its shard " + e.getValue());
                }
            }
            for (SafetensorsFile file : checkpoint.files) {
                for (TensorSource t : file.tensors()) {
                    String expected = shardOf.get(t.name());
                    if (!file.path().getFileName().toString().equals(expected)) {
                        throw new CheckpointFormatException(file.path(), t.name(), expected == null
                                ? "is not listed in " + INDEX_FILE : INDEX_FILE + " places it in " + expected);
                    }
                }
            }
        } catch (CheckpointFormatException e) {
            checkpoint.close();
            throw e;
        }
        return checkpoint;
    }

    private static SafetensorsCheckpoint fromFiles(Path location, List<Path> paths) throws IOException {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Path path : paths) {
                opened.add(SafetensorsFile.open(path));
            }
            return new SafetensorsCheckpoint(location, opened);
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile file : opened) {
                try {
                    file.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** The file or directory this checkpoint was opened from. */
    public Path location() {
        return location;
    }

    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    public List<TensorSource> tensors() {
        return tensors;
    }

    /** The tensor of this name; fails naming the checkpoint if there is none. */
    public TensorSource tensor(String name) {
        TensorSource t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException(location + " has no tensor '" + name + "'");
        }
        return t;
    }

    /** The {@code __metadata__} of the files, merged (the first file's value wins). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Bytes of tensor data (headers excluded). */
    public long tensorBytes() {
        return tensors.stream().mapToLong(TensorSource::byteSize).sum();
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (SafetensorsFile file : files) {
            try {
                file.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint{" + location + ", " + files.size() + " files, " + tensors.size() + " tensors}";
    }
}
