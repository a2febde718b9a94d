package io.weightpub.publisher.cli;

import io.weightpub.publisher.ByteSize;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine;

/** Lets options take sizes like {@code 512MiB} or {@code 1020k}. */
@Internal
public final class ByteSizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        try {
            return ByteSize.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
