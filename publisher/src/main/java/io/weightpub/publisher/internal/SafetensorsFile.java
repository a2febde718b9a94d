package io.weightpub.publisher.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightpub.publisher.CheckpointFormatException;
import io.weightpub.publisher.DType;
import io.weightpub.publisher.MappedFile;
import io.weightpub.publisher.TensorSource;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One parsed and validated .safetensors file: {@code u64le N}, an N-byte JSON header mapping
 * tensor names to {@code {dtype, shape, data_offsets}} (offsets relative to the data section)
 * plus an optional {@code __metadata__} map of strings, then the data section. Everything is
 * checked on open, so a bad file is rejected before a single byte is published.
 */
@Internal
public final class SafetensorsFile implements AutoCloseable {

    /** The safetensors reference implementation's limit on the header. */
    public static final long MAX_HEADER_BYTES = 100_000_000;
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final MappedFile file;
    private final List<TensorSource> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, MappedFile file, List<TensorSource> tensors, Map<String, String> metadata) {
        this.path = path;
        this.file = file;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(path, file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, MappedFile file) throws IOException {
        if (file.size() < 8) {
            throw new CheckpointFormatException(path, null,
                    "truncated: " + file.size() + " bytes, the 8-byte header length is missing");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        file.read(0, lengthBytes);
        long headerLength = lengthBytes.flip().getLong();
        if (headerLength < 0 || headerLength > file.size() - 8) {
            throw new CheckpointFormatException(path, null, "header length " + Long.toUnsignedString(headerLength)
                    + " runs past the end of the file (" + file.size() + " bytes)");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new CheckpointFormatException(path, null,
                    "header of " + headerLength + " bytes exceeds the limit of " + MAX_HEADER_BYTES);
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        file.read(8, headerBytes);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(path, null, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointFormatException(path, null, "header is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataLength = file.size() - dataStart;
        Map<String, String> metadata = Map.of();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(path, field.getValue());
            } else {
                entries.add(entry(path, field.getKey(), field.getValue(), dataLength));
            }
        }
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparing(Entry::name));
        Entry previous = null;
        List<TensorSource> tensors = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            if (e.end() > e.begin()) {
                if (previous != null && e.begin() < previous.end()) {
                    throw new CheckpointFormatException(path, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                            + ") overlap tensor '" + previous.name() + "' at [" + previous.begin() + ", "
                            + previous.end() + ")");
                }
                previous = e;
            }
            tensors.add(new FileRegionTensorSource(e.name(), e.dtype(), e.shape(), file, dataStart + e.begin()));
        }
        return new SafetensorsFile(path, file, List.copyOf(tensors), metadata);
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    }

    private static Entry entry(Path path, String name, JsonNode node, long dataLength)
            throws CheckpointFormatException {
        if (!node.isObject()) {
            throw new CheckpointFormatException(path, name, "entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new CheckpointFormatException(path, name, "missing \"dtype\" string");
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.asText()).orElseThrow(() -> new CheckpointFormatException(
                path, name, "unknown dtype '" + dtypeNode.asText() + "', expected one of "
                        + Arrays.toString(DType.values())));
        long[] shape = longs(path, name, node.get("shape"), "shape", -1);
        long[] offsets = longs(path, name, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataLength) {
            throw new CheckpointFormatException(path, name, "data_offsets [" + begin + ", " + end
                    + "] are outside the data section of " + dataLength + " bytes");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorSource.numel(name, shape), (long) dtype.itemSize());
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new CheckpointFormatException(path, name, "shape " + Arrays.toString(shape) + " is invalid: "
                    + e.getMessage());
        }
        if (bytes != end - begin) {
            throw new CheckpointFormatException(path, name, "shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + bytes + " bytes but data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers, of the given length unless that is -1. */
    private static long[] longs(Path path, String tensor, JsonNode node, String field, int length)
            throws CheckpointFormatException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new CheckpointFormatException(path, tensor, "\"" + field + "\" must be an array of "
                    + (length >= 0 ? length + " " : "") + "non-negative integers, was " + node);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new CheckpointFormatException(path, tensor, "\"" + field
                        + "\" must hold non-negative integers, was " + node);
            }
            values[i] = v.asLong();
        }
        return values;
    }

    private static Map<String, String> metadata(Path path, JsonNode node) throws CheckpointFormatException {
        if (!node.isObject()) {
            throw new CheckpointFormatException(path, null, "\"" + METADATA_KEY + "\" is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(path, null, "\"" + METADATA_KEY + "\" value of '" + e.getKey()
                        + "' is not a string");
            }
            metadata.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    public Path path() {
        return path;
    }

    /** The tensors in the order of their data offsets. */
    public List<TensorSource> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
