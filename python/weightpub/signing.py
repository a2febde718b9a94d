"""Optional Ed25519 manifest signing (docs/security.md), when ``cryptography`` is importable."""

import hashlib
import struct

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    AVAILABLE = True
except ImportError:  # signing is optional: publish unsigned
    AVAILABLE = False


def _u32(n):
    return struct.pack(">I", n)


def _s(x):
    b = x.encode("utf-8")
    return _u32(len(b)) + b


_TENSOR = [("name", "string"), ("shape", ["long"]), ("dtype", "string"),
           ("start_idx", "long"), ("end_idx", "long"), ("numel", "long")]
_BUCKET = [("index", "int"), ("offset", "long"), ("size_bytes", "long"), ("chunk_count", "int"),
           ("sha256", "bytes"), ("tensors", [_TENSOR])]
_MANIFEST = [("model_id", "string"), ("step", "long"), ("publish_id", "string"), ("schema_version", "int"),
             ("total_bytes", "long"), ("chunk_size", "int"), ("buckets", [_BUCKET]),
             ("created_at_ms", "long"), ("signature", "bytes"), ("key_id", "string"),
             ("digest_kind", "string"), ("leaf_size", "int")]  # an enum symbol is encoded as its name


def _val(t, v):
    if t == "int":
        return struct.pack(">i", v)
    if t == "long":
        return struct.pack(">q", v)
    if t == "string":
        return _s(v)
    if t == "bytes":
        return _u32(len(v)) + bytes(v)
    if isinstance(t, list) and len(t) == 1:
        return _u32(len(v)) + b"".join(_val(t[0], x) for x in v)
    return _rec(t, v)


def _rec(fields, r, excluded=None):
    present = [(n, t) for n, t in fields if n != excluded and r.get(n) is not None]
    return _u32(len(present)) + b"".join(_s(n) + _val(t, r[n]) for n, t in present)


def canonical_manifest(m):
    """The bytes a manifest's signature covers (every field but ``signature``, key_id included)."""
    return _s("weightpub-signed-v1") + _s("io.weightpub.schemas.VersionManifest") + _rec(_MANIFEST, m, "signature")


class SigningKey:
    """An Ed25519 private key with its key id."""

    def __init__(self, private_key, key_id):
        self.private_key = private_key
        self.key_id = key_id

    @classmethod
    def from_pem_file(cls, path, key_id=None):
        """A PKCS#8 PEM file; a ``Key-Id:`` line before the PEM block names the key, else the
        lower-case hex of the first 8 bytes of the SHA-256 of the public key's DER."""
        if not AVAILABLE:
            raise RuntimeError("signing needs the 'cryptography' package (python3-cryptography)")
        with open(path, "rb") as f:
            text = f.read()
        for line in text.decode("utf-8").splitlines():
            if line.startswith("-----BEGIN"):
                break
            if line.lower().startswith("key-id:") and key_id is None:
                key_id = line.split(":", 1)[1].strip()
        key = serialization.load_pem_private_key(text, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("%s is not an Ed25519 private key" % path)
        if key_id is None:
            der = key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
            key_id = hashlib.sha256(der).digest()[:8].hex()
        return cls(key, key_id)

    def sign(self, manifest):
        """Sets key_id and signature of a manifest dict."""
        manifest["key_id"] = self.key_id
        manifest["signature"] = None
        manifest["signature"] = self.private_key.sign(canonical_manifest(manifest))
        return manifest
