"""One offered version: its tensor table, bucket digests, and the memory to map."""

import hashlib
from collections import namedtuple

from ..digest import tree_digest
from ..errors import WeightpubError
from .memory import open_memory

Tensor = namedtuple("Tensor", "name dtype shape offset size")
Bucket = namedtuple("Bucket", "index offset size sha256")

ITEM_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
              "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


class DigestMismatch(WeightpubError):
    """A version's bytes, as mapped here, do not hash to the digests its manifest names."""


class Version:
    """A version a worker offered: ``model``, ``version``, ``content_version`` (differs after a
    rollback), ``step``, ``publish_id``, ``tensors`` (name -> Tensor), ``buckets``, ``memory`` (the
    message's description of what to map). ``revoked`` turns true when the worker took its lease back."""

    def __init__(self, message):
        self.message = message
        self.model = message["model"]
        self.version = int(message["version"])
        self.content_version = int(message["contentVersion"])
        self.step = int(message["step"])
        self.publish_id = message["publishId"]
        self.size = int(message["sizeBytes"])
        self.worker = message.get("worker")
        self.mode = message.get("mode", "copy")
        self.lease_timeout_ms = message.get("leaseTimeoutMs")
        self.memory = message["memory"]
        self.digest = message.get("digest", "sha256")
        self.tensors = {}
        for t in message["tensors"]:
            self.tensors[t["name"]] = Tensor(t["name"], t["dtype"], tuple(int(d) for d in t["shape"]),
                                             int(t["offset"]), int(t["size"]))
        # What a view of each tensor depends on: versions of one layout in one slot share their views.
        self.layout = tuple(self.tensors.values())
        self.buckets = [Bucket(int(b["index"]), int(b["offset"]), int(b["size"]), b["sha256"])
                        for b in message["buckets"]]
        self.revoked = None
        # True once the connection that offered it is gone: nothing about it is acknowledged any more.
        self.stale = False
        self._mapping = None

    def map(self):
        """Maps the version's memory (once); closed by ``close``."""
        if self._mapping is None:
            self._mapping = open_memory(self.memory)
        return self._mapping

    def verify(self):
        """Checks every bucket's SHA-256 against the manifest and that every tensor lies inside a
        checked bucket, so every tensor's bytes are the published ones. Raises DigestMismatch."""
        if self.digest not in ("sha256", "sha256-tree"):
            raise DigestMismatch("version %d of %s names digests of kind %r, this client checks sha256 and "
                                 "sha256-tree" % (self.version, self.model, self.digest))
        mapping = self.map()
        for b in self.buckets:
            data = mapping.buffer(b.offset, b.size) if mapping.kind == "host" else mapping.read(b.offset, b.size)
            if self.digest == "sha256":
                actual = hashlib.sha256(data).hexdigest()
            else:
                actual = tree_digest(data, int(self.message["leafSize"])).hex()
            if actual != b.sha256:
                raise DigestMismatch("version %d of %s, bucket %d (bytes [%d, %d)): SHA-256 %s, manifest %s"
                                     % (self.version, self.model, b.index, b.offset, b.offset + b.size, actual,
                                        b.sha256))
        spans = sorted((b.offset, b.offset + b.size) for b in self.buckets)
        for t in self.tensors.values():
            if t.size and not any(lo <= t.offset and t.offset + t.size <= hi for lo, hi in spans):
                raise DigestMismatch("tensor %s of version %d of %s (bytes [%d, %d)) lies in no bucket"
                                     % (t.name, self.version, self.model, t.offset, t.offset + t.size))

    def tensor_bytes(self, name):
        """The bytes of tensor ``name`` (a memoryview on host memory, a copy from a device)."""
        t = self.tensors[name]
        mapping = self.map()
        return mapping.buffer(t.offset, t.size) if mapping.kind == "host" else mapping.read(t.offset, t.size)

    def close(self):
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "Version(model=%r, version=%d, content_version=%d, step=%d, tensors=%d, bytes=%d)" % (
            self.model, self.version, self.content_version, self.step, len(self.tensors), self.size)
