"""CRC32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF), as java.util.zip.CRC32C.

The fastest available implementation is used: the C extension ``crc32c`` (Debian's
python3-crc32c) or ``google_crc32c`` when importable, else a numpy version that runs many lanes
of the byte-wise table algorithm at once and combines them with GF(2) shift matrices, else a
pure-Python table loop (slow; only for tiny payloads or environments without numpy).
"""

_POLY = 0x82F63B78


def _table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c_pure(data, crc=0):
    """Byte-wise table CRC32C of ``data`` continuing from ``crc`` (0 for a fresh CRC)."""
    c = crc ^ 0xFFFFFFFF
    table = _TABLE
    for b in bytes(data):
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _raw_update(state, data):
    """The register update without the initial and final xor (linear in state and data)."""
    table = _TABLE
    for b in bytes(data):
        state = table[(state ^ b) & 0xFF] ^ (state >> 8)
    return state


def _matrix_times(matrix, vector):
    out = 0
    bit = 0
    while vector:
        if vector & 1:
            out ^= matrix[bit]
        vector >>= 1
        bit += 1
    return out


def _matrix_square(matrix):
    return [_matrix_times(matrix, column) for column in matrix]


_SHIFT_CACHE = {}


def _shift_matrix(nbytes):
    """Columns of the linear map 'feed nbytes zero bytes into the register'."""
    cached = _SHIFT_CACHE.get(nbytes)
    if cached is not None:
        return cached
    one_byte = [_raw_update(1 << b, b"\x00") for b in range(32)]
    result = [1 << b for b in range(32)]  # identity
    power = one_byte
    n = nbytes
    while n:
        if n & 1:
            result = [_matrix_times(power, column) for column in result]
        n >>= 1
        if n:
            power = _matrix_square(power)
    _SHIFT_CACHE[nbytes] = result
    return result


def _crc32c_numpy(data, crc=0):
    import numpy as np

    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = buf.size
    lanes = 1
    while lanes < 65536 and lanes * 2 * 32 <= n:
        lanes *= 2
    if lanes < 64:
        return crc32c_pure(buf.tobytes(), crc)
    length = n // lanes
    main = buf[: lanes * length].reshape(lanes, length).T.copy()  # row j: byte j of every lane
    table = np.array(_TABLE, dtype=np.uint32)
    state = np.zeros(lanes, dtype=np.uint32)
    state[0] = crc ^ 0xFFFFFFFF
    for row in main:
        state = table[(state ^ row) & 0xFF] ^ (state >> 8)
    # Tree-combine adjacent lanes: register(A||B) = shift_len(B)(register(A)) ^ register_from_0(B).
    segment = length
    bits = np.arange(32, dtype=np.uint32)
    while state.size > 1:
        columns = np.array(_shift_matrix(segment), dtype=np.uint32)
        left = state[0::2]
        shifted = np.bitwise_xor.reduce(
            ((left[:, None] >> bits[None, :]) & 1) * columns[None, :], axis=1).astype(np.uint32)
        state = shifted ^ state[1::2]
        segment *= 2
    register = _raw_update(int(state[0]), buf[lanes * length:].tobytes())
    return register ^ 0xFFFFFFFF


def _implementation():
    try:
        import crc32c as _c  # Debian python3-crc32c / PyPI crc32c

        return "crc32c", lambda data, crc=0: _c.crc32c(data, crc) if crc else _c.crc32c(data)
    except ImportError:
        pass
    try:
        import google_crc32c as _g

        return "google_crc32c", lambda data, crc=0: _g.extend(crc, bytes(data))
    except ImportError:
        pass
    try:
        import numpy  # noqa: F401

        return "numpy", _crc32c_numpy
    except ImportError:
        return "pure", crc32c_pure


IMPLEMENTATION, _crc = _implementation()


def crc32c(data, crc=0):
    """Unsigned CRC32C of ``data`` (bytes-like), optionally continuing from ``crc``."""
    return _crc(data, crc)


def to_avro_int(value):
    """The unsigned CRC as the signed 32-bit int the ``crc32c`` field carries (two's complement)."""
    return value - (1 << 32) if value >= 1 << 31 else value
