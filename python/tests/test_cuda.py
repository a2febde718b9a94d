"""CUDA tensors: staged bucket by bucket into pinned memory, their records equal those of the same
tensors on the CPU (and so the Java publisher's)."""

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

from weightpub.encoding import encode_version  # noqa: E402


def _tensors(device):
    g = torch.Generator().manual_seed(1)
    return [
        ("a", torch.randn(3, 5, generator=g).to(device)),
        ("b", torch.randn(7, generator=g).to(torch.bfloat16).to(device)),
        ("empty", torch.zeros(0, 3).to(device)),
        ("c", torch.randint(-100, 100, (9,), generator=g, dtype=torch.int8).to(device)),
        ("big", torch.randn(50, generator=g, dtype=torch.float64).to(device)),
        ("t", torch.randn(4, 6, generator=g).t().to(device)),  # not contiguous
        ("f8", torch.randn(5, generator=g).to(torch.float8_e4m3fn).to(device)),
    ]


@pytest.mark.parametrize("bucket_size,chunk_size", [(64, 24), (64, 1000), (1 << 20, 1_044_480)])
def test_cuda_tensors_encode_exactly_as_the_same_tensors_on_the_cpu(bucket_size, chunk_size):
    args = ("m", 1, "p", bucket_size, chunk_size, 1700000000000)
    cpu = encode_version(_tensors("cpu"), *args)
    cuda = encode_version(_tensors("cuda"), *args)
    assert cuda[0] == cpu[0] and cuda[1] == cpu[1]
    dtypes = {t["name"]: t["dtype"] for b in cuda[2]["buckets"] for t in b["tensors"]}
    assert dtypes["b"] == "BF16" and dtypes["f8"] == "F8_E4M3"


def test_a_mix_of_cuda_and_cpu_tensors_encodes_as_all_on_the_cpu():
    mixed = [(n, t if i % 2 else t.cpu()) for i, (n, t) in enumerate(_tensors("cuda"))]
    args = ("m", 1, "p", 64, 24, 0)
    assert encode_version(mixed, *args)[:2] == encode_version(_tensors("cpu"), *args)[:2]
