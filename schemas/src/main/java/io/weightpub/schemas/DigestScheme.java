package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Objects;

/**
 * How the {@code sha256} of every bucket of a manifest was computed: {@link DigestKind#SHA256} (one
 * SHA-256 over the bucket's bytes, manifests written before the field existed) or
 * {@link DigestKind#SHA256_TREE} (SHA-256 over the concatenated SHA-256 of the bucket's
 * {@code leafSize}-byte leaves, the last leaf shorter; an empty bucket has no leaves, so its digest
 * is SHA-256 of nothing). Immutable.
 */
@PublicEvolving
public final class DigestScheme {

    /** Leaves below this make the serial root pass dominate; a claim below it is refused. */
    public static final int MIN_LEAF_SIZE = 64 << 10;
    /** Above this too few leaves hash in parallel; a claim above it is refused. */
    public static final int MAX_LEAF_SIZE = 64 << 20;
    /**
     * What publishers write: 2048 leaves for a 512 MiB bucket keep the GPU's threads busy (409 GB/s
     * per bucket on an H200, against 121 GB/s with 1 MiB leaves), while the root pass over 64 KiB of
     * leaf digests stays at 1.7 ms (6.6 ms with 64 KiB leaves). README, design.
     */
    public static final int DEFAULT_LEAF_SIZE = 256 << 10;

    private static final DigestScheme FLAT = new DigestScheme(DigestKind.SHA256, 0);

    private final DigestKind kind;
    private final int leafSize;

    private DigestScheme(DigestKind kind, int leafSize) {
        this.kind = kind;
        this.leafSize = leafSize;
    }

    /** The digest of manifests before tree digests: SHA-256 of the bucket's bytes. */
    public static DigestScheme flat() {
        return FLAT;
    }

    /** The tree digest with leaves of {@code leafSize} bytes; throws when the size breaks {@link #leafSizeProblem}. */
    public static DigestScheme tree(int leafSize) {
        String problem = leafSizeProblem(leafSize);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return new DigestScheme(DigestKind.SHA256_TREE, leafSize);
    }

    /** What publishers write by default: the tree with {@link #DEFAULT_LEAF_SIZE}-byte leaves. */
    public static DigestScheme defaultTree() {
        return tree(DEFAULT_LEAF_SIZE);
    }

    /**
     * The scheme a manifest declares, its leaf size checked before anything is sized by it.
     *
     * @throws IllegalArgumentException naming what is wrong: an unknown kind, a tree without a leaf
     *     size or with one that is not a power of two in [{@link #MIN_LEAF_SIZE}, {@link #MAX_LEAF_SIZE}],
     *     a leaf size on a plain SHA-256 manifest
     */
    public static DigestScheme of(VersionManifest manifest) {
        DigestKind kind = manifest.getDigestKind();
        Integer leaf = manifest.getLeafSize();
        if (kind == null || kind == DigestKind.SHA256) {
            if (leaf != null) {
                throw new IllegalArgumentException("digest kind SHA256 has no leaves, the manifest claims leaf size "
                        + leaf);
            }
            return FLAT;
        }
        if (kind != DigestKind.SHA256_TREE) {
            throw new IllegalArgumentException("digest kind " + kind + " is not one this reader knows");
        }
        if (leaf == null) {
            throw new IllegalArgumentException("digest kind SHA256_TREE without a leaf size");
        }
        String problem = leafSizeProblem(leaf);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return new DigestScheme(kind, leaf);
    }

    /** Why {@code leafSize} is no acceptable leaf size, or null when it is. */
    public static String leafSizeProblem(long leafSize) {
        if (leafSize < MIN_LEAF_SIZE || leafSize > MAX_LEAF_SIZE || Long.bitCount(leafSize) != 1) {
            return "leaf size " + leafSize + " is not a power of two in [" + MIN_LEAF_SIZE + ", " + MAX_LEAF_SIZE
                    + "]";
        }
        return null;
    }

    public DigestKind kind() {
        return kind;
    }

    public boolean isTree() {
        return kind == DigestKind.SHA256_TREE;
    }

    /** Bytes per leaf; 0 for {@link #flat()}. */
    public int leafSize() {
        return leafSize;
    }

    /** Leaves of a bucket of {@code bucketSize} bytes (0 for an empty one); 1 for the flat digest. */
    public long leafCount(long bucketSize) {
        return isTree() ? (bucketSize + leafSize - 1) / leafSize : 1;
    }

    /** Sets the manifest fields that declare this scheme (null for the flat digest, as before the fields). */
    public VersionManifest.Builder declareOn(VersionManifest.Builder manifest) {
        return isTree()
                ? manifest.setDigestKind(DigestKind.SHA256_TREE).setLeafSize(leafSize)
                : manifest.setDigestKind(null).setLeafSize(null);
    }

    /** A hasher that takes a bucket's bytes in order, in pieces of any size. */
    public BucketHasher newHasher() {
        return isTree() ? new TreeHasher(leafSize) : new FlatHasher();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DigestScheme other && other.kind == kind && other.leafSize == leafSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, leafSize);
    }

    @Override
    public String toString() {
        return isTree() ? "SHA256_TREE(leaf " + leafSize + ")" : "SHA256";
    }
}
