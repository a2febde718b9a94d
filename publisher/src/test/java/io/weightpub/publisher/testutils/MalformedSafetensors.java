package io.weightpub.publisher.testutils;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every way a safetensors checkpoint can be malformed, each with the tensor its error must name
 * (null where the problem is the file's) and a fragment the message must contain.
 */
public enum MalformedSafetensors {

    EMPTY_FILE(null, "8-byte header length is missing") {
        @Override
        public Path write(Path dir) throws IOException {
            return Files.write(dir.resolve("model.safetensors"), new byte[0]);
        }
    },
    TRUNCATED_HEADER_LENGTH(null, "8-byte header length is missing") {
        @Override
        public Path write(Path dir) throws IOException {
            return Files.write(dir.resolve("model.safetensors"), new byte[] {12, 0, 0});
        }
    },
    HEADER_LENGTH_PAST_END(null, "runs past the end of the file") {
        @Override
        public Path write(Path dir) throws IOException {
            byte[] header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"
                    .getBytes(StandardCharsets.UTF_8);
            return SafetensorsFiles.write(dir.resolve("model.safetensors"), 4096, header, new byte[1]);
        }
    },
    NOT_JSON(null, "not valid JSON") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"), "{\"a\": {\"dtype\": ", new byte[4]);
        }
    },
    HEADER_NOT_AN_OBJECT(null, "not a JSON object") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"), "[1, 2]", new byte[0]);
        }
    },
    DUPLICATE_TENSOR_NAME(null, "Duplicate field 'w'") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                            + "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        }
    },
    UNKNOWN_DTYPE("layers.0.q", "unknown dtype 'F12'") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"layers.0.q\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]);
        }
    },
    MISSING_DTYPE("layers.0.q", "missing \"dtype\"") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"layers.0.q\":{\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]);
        }
    },
    NEGATIVE_DIMENSION("layers.0.k", "\"shape\" must hold non-negative integers") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"layers.0.k\":{\"dtype\":\"F16\",\"shape\":[-2],\"data_offsets\":[0,4]}}", new byte[4]);
        }
    },
    OFFSETS_PAST_DATA("layers.0.v", "outside the data section of 8 bytes") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"layers.0.o\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                            + "\"layers.0.v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[8]);
        }
    },
    OFFSETS_REVERSED("layers.0.v", "outside the data section") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"layers.0.v\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", new byte[8]);
        }
    },
    OVERLAPPING_TENSORS("b", "overlap tensor 'a'") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        }
    },
    SHAPE_SIZE_MISMATCH("mlp.up", "needs 12 bytes but data_offsets [0, 8] hold 8") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"mlp.up\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", new byte[8]);
        }
    },
    BAD_METADATA(null, "\"__metadata__\" value of 'step' is not a string") {
        @Override
        public Path write(Path dir) throws IOException {
            return SafetensorsFiles.write(dir.resolve("model.safetensors"),
                    "{\"__metadata__\":{\"step\":7},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                    new byte[1]);
        }
    },
    SHARD_MISSING("b", "its shard model-00002-of-00002.safetensors does not exist") {
        @Override
        public Path write(Path dir) throws IOException {
            SafetensorsFiles.write(dir.resolve("model-00001-of-00002.safetensors"),
                    "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
            Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{"
                    + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
            return dir;
        }
    },
    INDEX_NAMES_ABSENT_TENSOR("c", "is not in its shard") {
        @Override
        public Path write(Path dir) throws IOException {
            SafetensorsFiles.write(dir.resolve("model-00001-of-00001.safetensors"),
                    "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
            Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{"
                    + "\"a\":\"model-00001-of-00001.safetensors\",\"c\":\"model-00001-of-00001.safetensors\"}}");
            return dir;
        }
    },
    SHARD_TENSOR_NOT_INDEXED("b", "is not listed in model.safetensors.index.json") {
        @Override
        public Path write(Path dir) throws IOException {
            SafetensorsFiles.write(dir.resolve("model-00001-of-00001.safetensors"),
                    "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                            + "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
            Files.writeString(dir.resolve("model.safetensors.index.json"),
                    "{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\"}}");
            return dir;
        }
    },
    INDEX_NOT_JSON(null, "is not valid JSON") {
        @Override
        public Path write(Path dir) throws IOException {
            Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": ");
            return dir;
        }
    },
    TENSOR_IN_TWO_FILES("a", "also stored in") {
        @Override
        public Path write(Path dir) throws IOException {
            for (String name : new String[] {"part-a.safetensors", "part-b.safetensors"}) {
                SafetensorsFiles.write(dir.resolve(name),
                        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
            }
            return dir;
        }
    },
    NO_CHECKPOINT(null, "holds neither model.safetensors.index.json nor any *.safetensors file") {
        @Override
        public Path write(Path dir) throws IOException {
            Files.writeString(dir.resolve("README.md"), "not a checkpoint");
            return dir;
        }
    };

    private final String tensor;
    private final String messageFragment;

    MalformedSafetensors(String tensor, String messageFragment) {
        this.tensor = tensor;
        this.messageFragment = messageFragment;
    }

    /** Writes the broken checkpoint into an empty directory and returns the path to open. */
    public abstract Path write(Path dir) throws IOException;

    /** The tensor the error must name, or null when the problem is not one tensor's. */
    public String tensor() {
        return tensor;
    }

    public String messageFragment() {
        return messageFragment;
    }
}
