"""Bucket layout of a version, as the Java BucketPlanner (SGLang's flattened buckets).

Tensors lie end to end in a bucket in the given order, each starting at a multiple of its
dtype's item size (zero padding in between). A tensor that does not fit after the bucket's bytes
starts the next bucket; a tensor larger than the bucket size gets a bucket of its own. Empty
tensors (numel 0) take no bytes and never start a bucket: their start_idx == end_idx is the
aligned end of the bytes before them. Each bucket is padded with zeros to a multiple of 8 bytes.
Each bucket is cut into ceil(size / chunk size) chunks (one empty chunk for an empty bucket);
the chunk grid restarts at 0 in every bucket, whatever the sizes of the buckets.
"""

from collections import namedtuple

from .errors import LayoutError

DEFAULT_BUCKET_SIZE = 512 << 20
# Java's default: 1020 KiB. The client raises librdkafka's message.max.bytes to fit it.
DEFAULT_CHUNK_SIZE = 1_044_480
MAX_CHUNK_SIZE = 64 << 20
MAX_ITEM_SIZE = 8

ITEM_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}

TensorMeta = namedtuple("TensorMeta", "name shape dtype")
TensorMeta.__doc__ = "What the layout needs of a tensor: name, shape (tuple of ints), safetensors dtype name."


def numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def byte_size(meta):
    return numel(meta.shape) * ITEM_SIZES[meta.dtype]


Slot = namedtuple("Slot", "meta start end")
Bucket = namedtuple("Bucket", "index offset size slots chunk_count")


def _align_up(value, alignment):
    rest = value % alignment
    return value if rest == 0 else value + alignment - rest


def chunk_count(bucket_size, chunk_size):
    return 1 if bucket_size == 0 else (bucket_size + chunk_size - 1) // chunk_size


def check_sizes(bucket_size, chunk_size):
    if bucket_size <= 0 or bucket_size % MAX_ITEM_SIZE:
        raise LayoutError("bucket size %d must be a positive multiple of %d bytes" % (bucket_size, MAX_ITEM_SIZE))
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise LayoutError("chunk size %d must be between 1 and %d bytes" % (chunk_size, MAX_CHUNK_SIZE))


class Layout:
    """Buckets of a version, with global indices and offsets; built by :func:`plan`."""

    def __init__(self, buckets, chunk_size, bucket_size, rank_buckets=None):
        self.buckets = buckets
        self.chunk_size = chunk_size
        self.bucket_size = bucket_size
        self.total_bytes = sum(b.size for b in buckets)
        self.chunk_total = sum(b.chunk_count for b in buckets)
        # rank -> (first bucket, end bucket) for multi-rank layouts
        self.rank_buckets = rank_buckets or {0: (0, len(buckets))}


def _plan_into(metas, bucket_size, chunk_size, buckets, offset, names):
    slots = []
    used = 0
    first = len(buckets)

    def close():
        nonlocal offset
        size = _align_up(used, MAX_ITEM_SIZE)
        buckets.append(Bucket(len(buckets), offset, size, tuple(slots), chunk_count(size, chunk_size)))
        offset += size

    for meta in metas:
        if meta.dtype not in ITEM_SIZES:
            raise LayoutError("tensor %s has dtype %r, expected one of %s" % (meta.name, meta.dtype, sorted(ITEM_SIZES)))
        if meta.name in names:
            raise LayoutError("tensor %s is given twice" % meta.name)
        names.add(meta.name)
        size = byte_size(meta)
        start = _align_up(used, ITEM_SIZES[meta.dtype])
        fits = size == 0 or start + size <= bucket_size
        if not fits and used > 0:
            close()
            slots, used, start = [], 0, 0
        slots.append(Slot(meta, start, start + size))
        used = start + size
    if slots or len(buckets) == first:
        close()
    return offset


def plan(metas, bucket_size=DEFAULT_BUCKET_SIZE, chunk_size=DEFAULT_CHUNK_SIZE):
    """The layout of one publisher's tensors (a list of :class:`TensorMeta`), as Java's."""
    check_sizes(bucket_size, chunk_size)
    metas = list(metas)
    if not metas:
        raise LayoutError("no tensors to publish")
    buckets = []
    _plan_into(metas, bucket_size, chunk_size, buckets, 0, set())
    return Layout(buckets, chunk_size, bucket_size)


def plan_ranks(metas_by_rank, bucket_size=DEFAULT_BUCKET_SIZE, chunk_size=DEFAULT_CHUNK_SIZE):
    """The layout of a version published by several ranks together.

    Rank r's tensors are planned after rank r-1's, in buckets of their own (a bucket never holds
    tensors of two ranks, since a bucket's SHA-256 is computed by the one process that sends it);
    bucket indices and offsets are global. Every rank must compute the same layout, from the
    metadata of every rank (``metas_by_rank[r]``), e.g. gathered with all_gather_object.
    """
    check_sizes(bucket_size, chunk_size)
    buckets = []
    names = set()
    offset = 0
    ranks = {}
    for rank, metas in enumerate(metas_by_rank):
        metas = list(metas)
        first = len(buckets)
        if metas:
            offset = _plan_into(metas, bucket_size, chunk_size, buckets, offset, names)
        ranks[rank] = (first, len(buckets))
    if not buckets:
        raise LayoutError("no tensors to publish on any rank")
    return Layout(buckets, chunk_size, bucket_size, ranks)
