import os

import pytest

from weightpub import crc32c

# RFC 3720 (iSCSI) B.4 vectors and the classic check value.
VECTORS = [
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (b"", 0),
]


@pytest.mark.parametrize("impl", [crc32c.crc32c, crc32c.crc32c_pure, crc32c._crc32c_numpy])
@pytest.mark.parametrize("data,expected", VECTORS)
def test_every_implementation_gives_the_rfc3720_values(impl, data, expected):
    assert impl(data) == expected


@pytest.mark.parametrize("size", [1, 63, 64 * 32, 4097, 1_044_480, 1_044_480 + 13])
def test_numpy_lanes_agree_with_the_table_loop_on_any_length_and_continue_a_crc(size):
    data = os.urandom(size)
    whole = crc32c.crc32c_pure(data)
    assert crc32c._crc32c_numpy(data) == whole
    head = crc32c.crc32c_pure(data[: size // 3])
    assert crc32c._crc32c_numpy(data[size // 3:], head) == whole


def test_unsigned_crc_becomes_the_twos_complement_avro_int():
    assert crc32c.to_avro_int(0xE3069283) == 0xE3069283 - (1 << 32)
    assert crc32c.to_avro_int(0x7FFFFFFF) == 0x7FFFFFFF
    assert crc32c.to_avro_int(0) == 0
