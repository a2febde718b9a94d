"""A version's records: chunk records bucket by bucket (payload, CRC32C, tree digest) and the manifest."""

import collections
import concurrent.futures
from . import crc32c as _crc
from . import digest as _digest
from . import layout as _layout
from . import tensors as _tensors
from . import wire
from .errors import TensorError

SCHEMA_VERSION = 1


def chunk_key(model_id, publish_id, bucket_index):
    """``model/publishId/bucketIndex`` in UTF-8 (the partition is named apart: ``publisher.chunk_partition``)."""
    return ("%s/%s/%d" % (model_id, publish_id, bucket_index)).encode("utf-8")


def build_manifest(model_id, layout, step, publish_id, digests, created_at_ms, signing_key=None):
    """The VersionManifest (as an Avro dict) of a layout whose bucket digests are known."""
    buckets = []
    for b in layout.buckets:
        buckets.append({
            "index": b.index, "offset": b.offset, "size_bytes": b.size, "chunk_count": b.chunk_count,
            "sha256": digests[b.index],
            "tensors": [{"name": s.meta.name, "shape": list(s.meta.shape), "dtype": s.meta.dtype,
                         "start_idx": s.start, "end_idx": s.end, "numel": _layout.numel(s.meta.shape)}
                        for s in b.slots],
        })
    manifest = {"model_id": model_id, "step": step, "publish_id": publish_id,
                "schema_version": SCHEMA_VERSION, "total_bytes": layout.total_bytes,
                "chunk_size": layout.chunk_size, "buckets": buckets,
                "created_at_ms": created_at_ms, "signature": None, "key_id": None,
                "digest_kind": _digest.DIGEST_KIND, "leaf_size": _digest.LEAF_SIZE}
    if signing_key is not None:
        signing_key.sign(manifest)
    return manifest


def encode_version(named_tensors, model_id, step, publish_id, bucket_size=_layout.DEFAULT_BUCKET_SIZE,
                   chunk_size=_layout.DEFAULT_CHUNK_SIZE, created_at_ms=0):
    """Every record of a version without sending it: ([(key, chunk value)...], manifest value, manifest).

    For tests and tools; a real publish streams the same records chunk by chunk.
    """
    pairs = _tensors.named_tensors(named_tensors)
    layout = _layout.plan([_tensors.meta(n, t) for n, t in pairs], bucket_size, chunk_size)
    digests = {}
    chunks = [(chunk_key(model_id, publish_id, b), record) for b, _, record, _ in
              ChunkEncoder(model_id, step, publish_id, layout, dict(pairs), range(len(layout.buckets)), digests)]
    manifest = build_manifest(model_id, layout, step, publish_id, digests, created_at_ms)
    return chunks, wire.MANIFEST.encode(manifest), manifest


class ChunkEncoder:
    """Yields (bucket, chunk, record bytes, payload size) for the given buckets, in order, and
    stores each bucket's raw tree digest in ``digests`` once its last chunk is encoded."""

    def __init__(self, model_id, step, publish_id, layout, tensors, buckets, digests):
        self.fields = {"model_id": model_id, "step": step, "publish_id": publish_id,
                       "bucket_count": len(layout.buckets), "version_bytes": layout.total_bytes}
        self.layout = layout
        self.tensors = tensors
        self.buckets = list(buckets)
        self.digests = digests
        self._hasher = _HASHER

    def __iter__(self):
        layout = self.layout
        cuda = any(_tensors.is_cuda(t) for t in self.tensors.values())
        stager = _tensors.CudaStager(self.tensors) if cuda else None
        if stager is not None and self.buckets:
            stager.start(layout.buckets[self.buckets[0]])
        for position, index in enumerate(self.buckets):
            b = layout.buckets[index]
            if stager is not None:
                view = stager.wait()
                if position + 1 < len(self.buckets):
                    stager.start(layout.buckets[self.buckets[position + 1]])  # copied while this one is sent
                source = _BucketView(view)
            else:
                source = _SlotSource(b, self.tensors)
            sha = _digest.TreeHasher()
            pending = collections.deque()
            for c in range(b.chunk_count):
                offset = c * layout.chunk_size
                length = min(layout.chunk_size, b.size - offset)
                parts = source.parts(offset, length)
                payload = parts[0] if len(parts) == 1 else b"".join(parts)
                # The digest runs on a helper thread (hashlib releases the GIL), in chunk order, while
                # this thread computes the CRC and hands the record to librdkafka.
                pending.append(self._hasher.submit(sha.update, payload))
                while len(pending) > 4:
                    pending.popleft().result()
                fields = dict(self.fields, bucket_index=index, chunk_index=c, chunk_count=b.chunk_count,
                              bucket_offset=b.offset, bucket_size=b.size, chunk_offset=offset,
                              crc32c=_crc.to_avro_int(_crc.crc32c(payload)))
                record = b"".join(wire.encode_chunk_parts(fields, payload))
                yield index, c, record, length
            for f in pending:
                f.result()
            self.digests[index] = sha.digest()


_HASHER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="weightpub-sha256")


class _BucketView:
    def __init__(self, view):
        self.view = view

    def parts(self, offset, length):
        return [self.view[offset:offset + length]]


class _SlotSource:
    """A bucket's bytes read from host tensors: slices of their memory, zeros in the gaps."""

    def __init__(self, bucket, tensors):
        self.slots = [s for s in bucket.slots if s.end > s.start]
        self.tensors = tensors
        self.views = {}
        self.cursor = 0

    def _view(self, slot):
        view = self.views.get(slot.meta.name)
        if view is None:
            view = self.views[slot.meta.name] = _tensors.host_bytes(slot.meta.name, self.tensors[slot.meta.name])
            if len(view) != slot.end - slot.start:
                raise TensorError("tensor %s has %d bytes, its shape and dtype say %d"
                                  % (slot.meta.name, len(view), slot.end - slot.start))
        return view

    def parts(self, offset, length):
        end = offset + length
        parts = []
        position = offset
        while self.cursor < len(self.slots) and self.slots[self.cursor].end <= offset:
            self.views.pop(self.slots[self.cursor].meta.name, None)  # done with it
            self.cursor += 1
        for slot in self.slots[self.cursor:]:
            if slot.start >= end:
                break
            lo, hi = max(slot.start, offset), min(slot.end, end)
            if lo > position:
                parts.append(bytes(lo - position))
            parts.append(self._view(slot)[lo - slot.start:hi - slot.start])
            position = hi
        if position < end:
            parts.append(bytes(end - position))
        return parts
