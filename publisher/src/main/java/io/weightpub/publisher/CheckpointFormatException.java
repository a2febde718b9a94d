package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** A checkpoint that is not valid safetensors; names the file and, where one is at fault, the tensor. */
@PublicEvolving
public final class CheckpointFormatException extends IOException {

    private final Path file;
    private final String tensor;

    public CheckpointFormatException(Path file, String tensor, String problem) {
        this(file, tensor, problem, null);
    }

    public CheckpointFormatException(Path file, String tensor, String problem, Throwable cause) {
        super(file + (tensor != null ? ": tensor '" + tensor + "'" : "") + ": " + problem, cause);
        this.file = file;
        this.tensor = tensor;
    }

    public Path file() {
        return file;
    }

    /** The tensor at fault, if the problem is one tensor's. */
    public Optional<String> tensor() {
        return Optional.ofNullable(tensor);
    }
}
