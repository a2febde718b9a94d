import hashlib
import os

import pytest

import tensors_fixture
from weightpub import digest, wire
from weightpub.encoding import encode_version


def by_definition(data, leaf):
    return hashlib.sha256(b"".join(hashlib.sha256(data[i:i + leaf]).digest()
                                   for i in range(0, len(data), leaf))).digest()


def test_a_known_answer_shared_with_the_java_tree_digest_test():
    data = bytes(i % 251 for i in range(200_000))
    assert digest.tree_digest(data, 64 << 10).hex() == \
        "bf2187045a84f25369fb8ca6a17623571e97266c1c640e6ed3c1a4e99189dad7"


@pytest.mark.parametrize("size", [0, 1, 64, (256 << 10) - 1, 256 << 10, (256 << 10) + 1, 3 * (256 << 10) + 12345])
def test_streamed_in_odd_pieces_equals_the_definition_with_a_last_partial_leaf(size):
    data = os.urandom(size)
    hasher = digest.TreeHasher()
    at, step = 0, 1
    while at < size:
        hasher.update(data[at:at + step])
        at += step
        step = step * 7 % 400_000 + 1
    assert hasher.digest() == by_definition(data, digest.LEAF_SIZE)


def test_an_empty_bucket_has_no_leaves_so_its_digest_is_the_sha256_of_nothing():
    assert digest.tree_digest(b"") == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("leaf", [0, 4096, 65535, 3 << 16, 128 << 20])
def test_a_leaf_size_that_is_no_power_of_two_in_bounds_is_refused(leaf):
    with pytest.raises(ValueError, match="leaf size %d" % leaf):
        digest.TreeHasher(leaf)


def test_the_manifest_declares_the_tree_and_its_buckets_carry_tree_digests():
    tensors = tensors_fixture.mixed(scale=3)
    chunks, manifest_bytes, manifest = encode_version(tensors, "m", 1, "p", bucket_size=64, chunk_size=24)
    decoded = wire.MANIFEST.decode(manifest_bytes)
    assert decoded["digest_kind"] == "SHA256_TREE" and decoded["leaf_size"] == 256 << 10
    version = bytearray(manifest["total_bytes"])
    for _, value in chunks:
        c = wire.CHUNK.decode(value)
        start = c["bucket_offset"] + c["chunk_offset"]
        version[start:start + len(c["payload"])] = c["payload"]
    for b in decoded["buckets"]:
        bucket = bytes(version[b["offset"]:b["offset"] + b["size_bytes"]])
        assert b["sha256"] == by_definition(bucket, 256 << 10)
        assert b["sha256"] != hashlib.sha256(bucket).digest() or not bucket
