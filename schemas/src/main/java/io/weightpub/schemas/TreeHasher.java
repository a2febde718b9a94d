package io.weightpub.schemas;

import java.nio.ByteBuffer;
import java.security.MessageDigest;

/** {@code SHA256_TREE} over bytes given in order: each full leaf's digest goes into the root as it completes. */
final class TreeHasher implements BucketHasher {

    private final int leafSize;
    private final MessageDigest leaf = Sha256.newDigest();
    private final MessageDigest root = Sha256.newDigest();
    private int inLeaf;

    TreeHasher(int leafSize) {
        this.leafSize = leafSize;
    }

    @Override
    public void update(byte[] bytes, int offset, int length) {
        while (length > 0) {
            int n = Math.min(length, leafSize - inLeaf);
            leaf.update(bytes, offset, n);
            offset += n;
            length -= n;
            endLeafIfFull(n);
        }
    }

    @Override
    public void update(ByteBuffer bytes) {
        ByteBuffer view = bytes.duplicate();
        while (view.hasRemaining()) {
            int n = Math.min(view.remaining(), leafSize - inLeaf);
            ByteBuffer piece = view.slice();
            piece.limit(n);
            leaf.update(piece);
            view.position(view.position() + n);
            endLeafIfFull(n);
        }
        bytes.position(bytes.limit());
    }

    private void endLeafIfFull(int added) {
        inLeaf += added;
        if (inLeaf == leafSize) {
            root.update(leaf.digest());
            inLeaf = 0;
        }
    }

    @Override
    public byte[] digest() {
        if (inLeaf > 0) {
            root.update(leaf.digest());
            inLeaf = 0;
        }
        return root.digest();
    }
}
