"""Mapping versions through CUDA IPC (weightpub.engine.memory) from memory another process exports."""

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

from weightpub.engine import memory  # noqa: E402
from weightpub.engine.memory import CudaMapping  # noqa: E402

SIZE = 4 << 20


@pytest.fixture
def exported():
    """(device UUID, IPC handle) of SIZE bytes of 0x5A owned by another process."""
    here = os.path.dirname(__file__)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(os.path.join(here, "..")))
    child = subprocess.Popen([sys.executable, os.path.join(here, "ipc_exporter.py"), str(SIZE), "90"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    uuid, handle = child.stdout.readline().split()
    yield uuid, handle
    child.stdin.write("free\n")
    child.stdin.flush()
    assert child.wait(timeout=30) == 0


def test_a_named_allocation_stays_mapped_across_versions_until_the_worker_retires_it(exported):
    uuid, handle = exported
    first = CudaMapping(uuid, handle, 0, SIZE, allocation="00000000000000a1")
    pointer = first.pointer
    assert first.read(SIZE - 2, 2) == b"\x5a\x5a"
    first.close()
    assert memory.is_warm(handle, "00000000000000a1")
    second = CudaMapping(uuid, handle, 1024, SIZE - 1024, allocation="00000000000000a1")
    assert second.pointer == pointer + 1024 and second.read(0, 1) == b"\x5a"
    memory.retire(["00000000000000a1"])
    assert memory.is_warm(handle, "00000000000000a1")  # a version still maps it: closed when that one is
    second.close()
    assert not memory.is_warm(handle, "00000000000000a1")


def test_the_same_handle_under_a_new_allocation_id_is_mapped_afresh(exported):
    uuid, handle = exported
    CudaMapping(uuid, handle, 0, SIZE, allocation="00000000000000b1").close()
    again = CudaMapping(uuid, handle, 0, SIZE, allocation="00000000000000b2")
    assert again.read(0, 1) == b"\x5a"
    assert not memory.is_warm(handle, "00000000000000b1") and memory.is_warm(handle, "00000000000000b2")
    again.close()
    memory.retire(["00000000000000b2"])
    assert not memory.is_warm(handle, "00000000000000b2")


def test_a_mapping_without_an_allocation_id_closes_with_its_last_version(exported):
    uuid, handle = exported
    mapping = CudaMapping(uuid, handle, 0, SIZE)
    assert memory.is_warm(handle, None)
    mapping.close()
    assert not memory.is_warm(handle, None)


def test_the_batched_copy_kernel_is_bit_exact_for_odd_sizes_and_misaligned_tensors():
    from weightpub.engine.device_copy import CHUNK_BYTES, available, batched_copy

    assert available(0), "batched_copy.ptx did not load (scripts/engine-ptx.py compiles it)"
    g = torch.Generator(device="cuda").manual_seed(5)
    pool = torch.randint(0, 256, (96 << 20,), dtype=torch.uint8, device="cuda", generator=g)
    sizes = [1, 15, 16, 17, 4095, CHUNK_BYTES, CHUNK_BYTES + 3, 3 * CHUNK_BYTES - 16, 5 << 20, (33 << 20) - 7]
    srcs, dsts, offset = [], [], 0
    for index, size in enumerate(sizes):
        skew = index % 3  # 0: aligned, 1 and 2: not aligned to 16 bytes, on the source or the destination
        src = pool[offset + (skew == 1):offset + (skew == 1) + size]
        dst = torch.zeros(size + 16, dtype=torch.uint8, device="cuda")[(skew == 2) * 5:(skew == 2) * 5 + size]
        srcs.append(src)
        dsts.append(dst)
        offset += size + 64
    srcs.append(pool[:0])
    dsts.append(torch.empty(0, dtype=torch.uint8, device="cuda"))
    halves = pool[1 << 20:(1 << 20) + 6000].view(torch.bfloat16).reshape(100, 30)
    srcs.append(halves)
    dsts.append(torch.empty(100, 30, dtype=torch.bfloat16, device="cuda"))
    assert batched_copy(dsts, srcs)
    torch.cuda.synchronize()
    for src, dst in zip(srcs, dsts):  # as bytes: random bytes seen as bfloat16 hold NaNs, never equal
        assert torch.equal(src.reshape(-1).view(torch.uint8), dst.reshape(-1).view(torch.uint8))


def test_the_batched_copy_declines_pairs_it_cannot_copy_byte_for_byte():
    from weightpub.engine.device_copy import batched_copy

    a = torch.ones(8, device="cuda")
    assert not batched_copy([torch.empty(8, device="cuda", dtype=torch.bfloat16)], [a])  # a conversion
    assert not batched_copy([torch.empty(4, 2, device="cuda")[:, 0]], [a[:4]])  # not contiguous
    assert not batched_copy([torch.empty(8)], [a.cpu()])  # host memory


def test_a_parameter_given_new_storage_is_copied_into_its_new_storage():
    from weightpub.engine.device_copy import batched_copy

    src = torch.arange(1 << 20, dtype=torch.float32, device="cuda")
    param = torch.nn.Parameter(torch.zeros(1 << 20, device="cuda"), requires_grad=False)
    assert batched_copy([param], [src])  # the plan for these tensors is kept
    fresh = torch.zeros(1 << 20, device="cuda")
    param.data = fresh  # same Parameter object, other memory
    with torch.no_grad():
        assert batched_copy([param], [src])
    torch.cuda.synchronize()
    assert torch.equal(fresh, src)


def test_a_kept_copy_plan_does_not_keep_its_tensors_alive():
    import gc
    import weakref

    from weightpub.engine.device_copy import batched_copy

    src = torch.ones(1 << 20, device="cuda")
    dst = torch.empty(1 << 20, device="cuda")
    assert batched_copy([dst], [src])
    torch.cuda.synchronize()
    gone = weakref.ref(dst)
    del dst
    gc.collect()
    assert gone() is None
