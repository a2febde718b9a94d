import os

import pytest

import javaside
import tensors_fixture
from weightpub import wire
from weightpub.encoding import encode_version

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
ARGS = dict(model_id="org/model", step=5, publish_id="pub-1", bucket_size=64, chunk_size=24,
            created_at_ms=1700000000000)


def test_fingerprints_are_the_java_ones_with_named_types_inlined():
    # Printed by PythonTestHarness encode (SchemaNormalization.parsingFingerprint64).
    assert wire.fingerprint("WeightChunk") == 0x2284BA4E98F23E02
    assert wire.fingerprint("VersionManifest") == 0x0EAFD421EC5D005A
    assert '"type":{"type":"array","items":{"name":"io.weightpub.schemas.TensorMeta"' in \
        wire.canonical_form("VersionManifest")


def test_packaged_schemas_are_the_contract_files():
    contract = os.path.join(javaside.ROOT, "schemas", "src", "main", "avro")
    for name in os.listdir(contract):
        with open(os.path.join(contract, name), "rb") as a, \
                open(os.path.join(os.path.dirname(wire.__file__), "schemas", name), "rb") as b:
            assert a.read() == b.read(), name + " differs: copy schemas/src/main/avro/*.avsc to python/weightpub/schemas"


def test_records_equal_the_java_golden_bytes():
    chunks, manifest, _ = encode_version(tensors_fixture.mixed(), **ARGS)
    checked = 0
    for key, value in chunks:
        record = wire.CHUNK.decode(value)
        name = "%d-%d.bin" % (record["bucket_index"], record["chunk_index"])
        if os.path.exists(os.path.join(GOLDEN, "chunk-" + name)):
            with open(os.path.join(GOLDEN, "chunk-" + name), "rb") as f:
                assert value == f.read(), "chunk " + name
            with open(os.path.join(GOLDEN, "key-" + name), "rb") as f:
                assert key == f.read(), "key " + name
            checked += 1
    assert checked == 8
    with open(os.path.join(GOLDEN, "manifest.bin"), "rb") as f:
        assert manifest == f.read()


@pytest.mark.skipif(javaside.classpath() is None, reason=javaside.MISSING)
@pytest.mark.parametrize("bucket_size,chunk_size", [(64, 24), (64, 1000), (8, 8), (512 << 20, 1_044_480)])
def test_every_record_equals_the_java_encoders(tmp_path, bucket_size, chunk_size):
    tensors = tensors_fixture.mixed(scale=3)
    path = tmp_path / "m.safetensors"
    javaside.write_safetensors(path, tensors)
    args = dict(ARGS, bucket_size=bucket_size, chunk_size=chunk_size)
    out = javaside.run("encode", path, "org/model", 5, "pub-1", bucket_size, chunk_size, 1700000000000,
                       tmp_path / "java")
    chunks, manifest, decoded = encode_version(tensors, **args)
    assert manifest == (tmp_path / "java" / "manifest.bin").read_bytes()
    assert {b["index"]: b["sha256"].hex() for b in decoded["buckets"]} == javaside.bucket_digests(out)
    for key, value in chunks:
        record = wire.CHUNK.decode(value)
        name = "%d-%d.bin" % (record["bucket_index"], record["chunk_index"])
        assert value == (tmp_path / "java" / ("chunk-" + name)).read_bytes()
        assert key == (tmp_path / "java" / ("key-" + name)).read_bytes()
    assert len(chunks) == len(list((tmp_path / "java").glob("chunk-*.bin")))
