"""Test tensors: every layout case (alignment gaps, empty and scalar tensors, a tensor larger than a
bucket, buckets smaller than a chunk, buckets cut into several chunks). The empty tensor sorts
before the tensor after it: Java reads a safetensors file in data order, ties broken by name."""

import numpy as np


def mixed(seed=7, scale=1):
    rng = np.random.default_rng(seed)
    return [
        ("embed.weight", rng.standard_normal((3 * scale, 5), dtype=np.float32)),
        ("flags", rng.integers(0, 2, size=(5,)).astype(np.bool_)),
        ("layer.0.q", rng.standard_normal((4, 3)).astype(np.float16)),
        ("layer.0.a_empty", np.zeros((0, 4), dtype=np.float32)),
        ("layer.0.count", np.array(42, dtype=np.int64)),
        ("layer.0.bytes", rng.integers(-128, 127, size=(7,), dtype=np.int8)),
        ("layer.1.big", rng.standard_normal((40 * scale,), dtype=np.float64)),
        ("layer.1.u16", rng.integers(0, 65535, size=(9,), dtype=np.uint16)),
        ("norm/with space+plus", rng.standard_normal((6,), dtype=np.float32)),
    ]
