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
