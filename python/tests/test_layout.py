import numpy as np
import pytest

from weightpub import LayoutError, TensorError, plan, plan_ranks, tensor_meta
from weightpub.layout import TensorMeta


def m(name, shape, dtype):
    return TensorMeta(name, tuple(shape), dtype)


def test_tensors_start_at_their_item_size_and_buckets_end_at_a_multiple_of_8():
    layout = plan([m("a", [3], "I8"), m("b", [1], "F32"), m("c", [1], "F16")], bucket_size=64, chunk_size=16)
    (bucket,) = layout.buckets
    assert [(s.start, s.end) for s in bucket.slots] == [(0, 3), (4, 8), (8, 10)]
    assert bucket.size == 16 and layout.total_bytes == 16


def test_a_tensor_that_does_not_fit_starts_the_next_bucket_and_an_oversized_one_gets_its_own():
    layout = plan([m("a", [6], "F64"), m("big", [20], "F64"), m("c", [1], "F64")], bucket_size=64, chunk_size=24)
    assert [(b.index, b.offset, b.size, b.chunk_count) for b in layout.buckets] == [
        (0, 0, 48, 2), (1, 48, 160, 7), (2, 208, 8, 1)]


def test_an_empty_tensor_takes_no_bytes_never_starts_a_bucket_and_sits_at_the_aligned_end():
    layout = plan([m("a", [6], "F64"), m("b", [1], "I8"), m("empty", [0, 4], "F32")], bucket_size=56, chunk_size=8)
    (bucket,) = layout.buckets
    assert [(s.meta.name, s.start, s.end) for s in bucket.slots] == [("a", 0, 48), ("b", 48, 49),
                                                                      ("empty", 52, 52)]


def test_the_chunk_grid_restarts_in_every_bucket_even_when_buckets_are_smaller_than_a_chunk():
    layout = plan([m("a", [3], "F64"), m("b", [5], "F64")], bucket_size=40, chunk_size=1000)
    assert [(b.size, b.chunk_count) for b in layout.buckets] == [(24, 1), (40, 1)]


def test_a_version_of_only_empty_tensors_has_one_empty_bucket_of_one_chunk():
    layout = plan([m("e", [0], "F32")], bucket_size=64, chunk_size=8)
    assert [(b.size, b.chunk_count) for b in layout.buckets] == [(0, 1)]


@pytest.mark.parametrize("bucket,chunk", [(0, 8), (12, 8), (64, 0), (64, (64 << 20) + 1)])
def test_sizes_out_of_range_are_refused(bucket, chunk):
    with pytest.raises(LayoutError):
        plan([m("a", [1], "F32")], bucket_size=bucket, chunk_size=chunk)


def test_duplicate_names_and_unknown_dtypes_are_refused():
    with pytest.raises(LayoutError, match="given twice"):
        plan([m("a", [1], "F32"), m("a", [1], "F32")])
    with pytest.raises(LayoutError, match="dtype"):
        plan([m("a", [1], "Q4")])
    with pytest.raises(TensorError, match="complex64"):
        tensor_meta("z", np.zeros(2, dtype=np.complex64))


def test_ranks_get_buckets_of_their_own_with_global_indices_and_offsets():
    layout = plan_ranks([[m("a", [3], "F32")], [], [m("b", [20], "F64"), m("c", [1], "I8")]],
                        bucket_size=64, chunk_size=32)
    assert layout.rank_buckets == {0: (0, 1), 1: (1, 1), 2: (1, 3)}
    assert [(b.index, b.offset, b.size) for b in layout.buckets] == [(0, 0, 16), (1, 16, 160), (2, 176, 8)]


def test_chunks_are_placed_round_robin_from_the_start_java_picks_for_the_publish_id():
    from weightpub.publisher import chunk_partition
    # publisher/src/test/.../ChunkPartitionsTest pins the same start for the same id
    assert chunk_partition("publish-7", 16, 0) == 12
    placed = [chunk_partition("publish-7", 16, seq) for seq in range(35)]
    assert placed[:5] == [12, 13, 14, 15, 0]
    counts = [placed.count(p) for p in range(16)]
    assert max(counts) - min(counts) <= 1
    with pytest.raises(ValueError):
        chunk_partition("p", 0, 0)
