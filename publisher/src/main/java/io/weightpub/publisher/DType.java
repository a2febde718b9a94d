package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The element types of safetensors, with their on-disk name and size in bytes. */
@PublicEvolving
public enum DType {
    BOOL("BOOL", 1),
    U8("U8", 1),
    I8("I8", 1),
    F8_E4M3("F8_E4M3", 1),
    F8_E5M2("F8_E5M2", 1),
    I16("I16", 2),
    U16("U16", 2),
    F16("F16", 2),
    BF16("BF16", 2),
    I32("I32", 4),
    U32("U32", 4),
    F32("F32", 4),
    I64("I64", 8),
    U64("U64", 8),
    F64("F64", 8);

    /** The largest item size; buckets are padded to a multiple of it so every bucket starts aligned. */
    public static final int MAX_ITEM_SIZE = 8;

    private final String safetensorsName;
    private final int itemSize;

    DType(String safetensorsName, int itemSize) {
        this.safetensorsName = safetensorsName;
        this.itemSize = itemSize;
    }

    /** The name used in safetensors headers and in {@code TensorMeta.dtype}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Bytes per element; also the alignment of a tensor's start inside a bucket. */
    public int itemSize() {
        return itemSize;
    }

    /** The dtype with this safetensors name (exact, upper case), or empty. */
    public static Optional<DType> fromSafetensorsName(String name) {
        return Arrays.stream(values()).filter(d -> d.safetensorsName.equals(name)).findFirst();
    }

    /** Like {@link #fromSafetensorsName} but case-insensitive and failing with the known names. */
    public static DType parse(String name) {
        return fromSafetensorsName(name.toUpperCase(Locale.ROOT))
                .orElseThrow(() -> new IllegalArgumentException(
                        "unknown dtype '" + name + "', expected one of " + Arrays.toString(values())));
    }
}
