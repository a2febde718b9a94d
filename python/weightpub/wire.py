"""Avro single-object encoding of weightpub records, byte-for-byte as the Java WireCodec.

A record is ``C3 01``, the writer schema's CRC-64-AVRO fingerprint (8 bytes, little endian),
then the Avro binary datum. The fingerprint is taken over the schema's Parsing Canonical Form
with every named type it references (``io.weightpub.schemas.TensorMeta`` in ``BucketInfo``...)
written out in full at its first use, as Avro's Java ``SchemaNormalization`` does for a schema
parsed with its dependencies.
"""

import io
import json
import os

import avro.io
import avro.schema

_SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "schemas")
# Parse order: a named type before the schemas that reference it.
_FILES = ["TensorMeta", "BucketInfo", "KafkaOffsetRange", "WeightChunk", "VersionManifest", "ControlRecord",
          "WorkerStatus", "VersionIndexEntry", "DeadLetter"]

_EMPTY = 0xC15D213AA4D7A795


def _fp_table():
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_FP_TABLE = _fp_table()


def crc64_avro(data):
    """The Rabin fingerprint of the Avro spec (CRC-64-AVRO) of ``data``."""
    fp = _EMPTY
    for b in data:
        fp = (fp >> 8) ^ _FP_TABLE[(fp ^ b) & 0xFF]
    return fp


def _load_schemas():
    names = avro.schema.Names()
    schemas = {}
    for name in _FILES:
        with open(os.path.join(_SCHEMA_DIR, name + ".avsc"), encoding="utf-8") as f:
            schemas[name] = avro.schema.make_avsc_object(json.load(f), names)
    return schemas


SCHEMAS = _load_schemas()


def canonical_form(name):
    """Parsing Canonical Form of a record schema, named types inlined at their first use."""
    return json.dumps(SCHEMAS[name].to_canonical_json(avro.schema.Names()), separators=(",", ":"))


def fingerprint(name):
    return crc64_avro(canonical_form(name).encode("utf-8"))


def _header(name):
    return b"\xc3\x01" + fingerprint(name).to_bytes(8, "little")


class Codec:
    """Encodes records of one schema; ``record`` is a dict keyed by the Avro field names."""

    def __init__(self, name):
        self.name = name
        self.schema = SCHEMAS[name]
        self.header = _header(name)
        self._writer = avro.io.DatumWriter(self.schema)
        self._reader = avro.io.DatumReader(self.schema)

    def encode(self, record):
        out = io.BytesIO()
        out.write(self.header)
        self._writer.write(record, avro.io.BinaryEncoder(out))
        return out.getvalue()

    def decode(self, data):
        data = bytes(data)
        if data[:10] != self.header:
            raise ValueError("not a %s single-object record: header %s, expected %s"
                             % (self.name, data[:10].hex(), self.header.hex()))
        return self._reader.read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))


def zigzag_varint(n):
    """Avro's long encoding (zig-zag, then base-128 varint)."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


CHUNK = Codec("WeightChunk")
MANIFEST = Codec("VersionManifest")
STATUS = Codec("WorkerStatus")


def encode_chunk_parts(fields, payload):
    """A WeightChunk record as the list of byte strings to concatenate, without copying the payload.

    ``payload`` is the last field of the schema, so the record is the encoding with an empty
    payload, minus its length byte (0), plus the payload's length and bytes.
    """
    fields = dict(fields)
    fields["payload"] = b""
    head = CHUNK.encode(fields)
    assert head[-1] == 0
    return [head[:-1], zigzag_varint(len(payload)), payload]
