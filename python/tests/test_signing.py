import hashlib

import pytest

from weightpub import signing

pytestmark = pytest.mark.skipif(not signing.AVAILABLE, reason="cryptography is not importable: signing is skipped")

RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SIGNATURE = bytes.fromhex("efadcdc4e9918bdf669795838558b176ef08231ed3bd7814df508ac0cd35483d"
                          "45c4847f29e95520535fb8c1d536a28c19ef626bddf62ba65f11131ae1a9ea0d")


def test_the_docs_manifest_vector_signs_to_the_documented_signature():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = signing.SigningKey(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET), "rfc8032-test1")
    manifest = {"model_id": "m", "step": 1, "publish_id": "p", "schema_version": 1, "total_bytes": 4,
                "chunk_size": 4, "created_at_ms": 1700000000000,
                "buckets": [{"index": 0, "offset": 0, "size_bytes": 4, "chunk_count": 1,
                             "sha256": hashlib.sha256(bytes([0, 1, 2, 3])).digest(),
                             "tensors": [{"name": "w", "shape": [2], "dtype": "F16", "start_idx": 0, "end_idx": 4,
                                          "numel": 2}]}]}
    key.sign(manifest)
    assert manifest["key_id"] == "rfc8032-test1"
    assert manifest["signature"] == SIGNATURE
