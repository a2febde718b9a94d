"""Bucket digests as the Java publisher computes them (README, wire format).

``SHA256_TREE``: a bucket is cut into leaves of ``LEAF_SIZE`` bytes (the last one shorter), each
leaf is hashed with SHA-256, and the bucket's digest is SHA-256 over the 32-byte leaf digests laid
end to end; an empty bucket has no leaves, so its digest is SHA-256 of nothing. Leaves hash in
parallel (a GPU hashes a 512 MiB bucket's 2048 leaves at once), which one SHA-256 over the whole
bucket cannot.
"""

import hashlib

DIGEST_KIND = "SHA256_TREE"
LEAF_SIZE = 256 << 10  # io.weightpub.schemas.DigestScheme.DEFAULT_LEAF_SIZE
MIN_LEAF_SIZE = 64 << 10
MAX_LEAF_SIZE = 64 << 20


class TreeHasher:
    """The tree digest of one bucket over bytes given in order, in pieces of any size."""

    def __init__(self, leaf_size=LEAF_SIZE):
        if not MIN_LEAF_SIZE <= leaf_size <= MAX_LEAF_SIZE or leaf_size & (leaf_size - 1):
            raise ValueError("leaf size %d is not a power of two in [%d, %d]" % (leaf_size, MIN_LEAF_SIZE,
                                                                                   MAX_LEAF_SIZE))
        self.leaf_size = leaf_size
        self._leaf = hashlib.sha256()
        self._root = hashlib.sha256()
        self._in_leaf = 0

    def update(self, data):
        view = memoryview(data).cast("B")
        while len(view):
            n = min(len(view), self.leaf_size - self._in_leaf)
            self._leaf.update(view[:n])
            view = view[n:]
            self._in_leaf += n
            if self._in_leaf == self.leaf_size:
                self._root.update(self._leaf.digest())
                self._leaf = hashlib.sha256()
                self._in_leaf = 0

    def digest(self):
        if self._in_leaf:
            self._root.update(self._leaf.digest())
            self._leaf = hashlib.sha256()
            self._in_leaf = 0
        return self._root.digest()


def tree_digest(data, leaf_size=LEAF_SIZE):
    """The tree digest of a whole bucket's bytes."""
    hasher = TreeHasher(leaf_size)
    hasher.update(data)
    return hasher.digest()
