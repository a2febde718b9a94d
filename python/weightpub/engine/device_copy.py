"""Many tensors copied on a CUDA device in one kernel launch (cuda/batched_copy.cu, loaded as PTX
through libcuda, queued on torch's current stream).

An engine's parameters are hundreds of separate tensors; a launch per tensor costs ~10 us, which at
1 GiB is more time than the bytes take. Where the kernel cannot run (no PTX this driver accepts,
tensors on the host or on several devices, dtype conversions), ``batched_copy`` says so and the
caller copies another way.
"""

import collections
import ctypes
import os
import threading
import weakref

from .memory import MappingError, _check, _libcuda

PTX = os.path.join(os.path.dirname(__file__), "cuda", "batched_copy.ptx")
KERNEL = b"weightpub_batched_copy"
# Bytes per chunk (a multiple of 16: chunks of aligned spans start aligned) and blocks per SM, more
# than fit at once (8 of 256 threads), so the last chunks spread over every SM. Chosen on the H200
# by python/bench/copy_gpu.py: 128 KiB x 64 reached 1489 / 1683 / 1706 GB/s at 1 / 4 / 16 GiB (about
# 318-345 tensors), as fast as one copy of the whole version out of the slot; 256 KiB x 8 reached
# 1567 / 1517 / 1450.
CHUNK_BYTES = 128 << 10
THREADS = 256
BLOCKS_PER_SM = 64

_lock = threading.Lock()
_kernels = {}  # device ordinal -> (context, function), or None where the kernel cannot load


def _kernel(ordinal):
    with _lock:
        if ordinal not in _kernels:
            _kernels[ordinal] = _load(ordinal)
        return _kernels[ordinal]


def _load(ordinal):
    try:
        lib = _libcuda()
        with open(PTX, "rb") as f:
            image = f.read() + b"\0"
        dev, ctx = ctypes.c_int(), ctypes.c_void_p()
        _check(lib, lib.cuDeviceGet(ctypes.byref(dev), ordinal), "cuDeviceGet")
        # The primary context: torch's, and the one IPC mappings of weightpub.engine.memory live in.
        _check(lib, lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
        _check(lib, lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        module, function = ctypes.c_void_p(), ctypes.c_void_p()
        _check(lib, lib.cuModuleLoadData(ctypes.byref(module), image), "cuModuleLoadData(batched_copy.ptx)")
        _check(lib, lib.cuModuleGetFunction(ctypes.byref(function), module, KERNEL), "cuModuleGetFunction")
        return ctx, function
    except (OSError, MappingError):
        return None


def available(ordinal=0):
    """Whether the batched copy kernel loads on CUDA device ``ordinal``."""
    return _kernel(ordinal) is not None


class _Plan:
    """A validated copy of one list of pairs: the device's span table, uploaded once. It holds its
    tensors weakly: a plan must not keep a version's buffers alive, and a dead reference tells that
    an id it is found by may now name another tensor."""

    __slots__ = ("refs", "pointers", "table", "count", "total", "grid", "chunk", "device")

    def __init__(self, refs, pointers, table, count, total, grid, chunk, device):
        self.refs, self.pointers, self.table = refs, pointers, table
        self.count, self.total, self.grid, self.chunk, self.device = count, total, grid, chunk, device

    def holds(self, pointers):
        # A parameter given new storage (param.data = ...) keeps its id: the pointers must match too.
        return self.pointers == pointers and all(ref() is not None for ref in self.refs)


# The last few plans by the ids of their tensors: an engine copies the same views (a warm slot's)
# into the same parameters version after version, and building a plan costs as much as copying
# hundreds of MiB.
_plans = collections.OrderedDict()
PLANS_KEPT = 4


def _pointers(dsts, srcs):
    return tuple(t.data_ptr() for t in dsts) + tuple(t.data_ptr() for t in srcs)


def _plan(dsts, srcs, pointers):
    import torch

    device = dsts[0].device
    if device.type != "cuda" or len(dsts) != len(srcs):
        return None
    spans = []
    for dst, src in zip(dsts, srcs):
        if (dst.device != device or src.device != device or dst.dtype != src.dtype or dst.shape != src.shape
                or not dst.is_contiguous() or not src.is_contiguous()):
            return None
        size = dst.numel() * dst.element_size()
        if size:
            spans.append((src.data_ptr(), dst.data_ptr(), size))
    first, total = [], 0
    for _, _, size in spans:
        first.append(total)
        total += (size + CHUNK_BYTES - 1) // CHUNK_BYTES
    table = None
    if spans:
        # Span table, then chunk starts: one small upload per plan.
        table = torch.tensor([v for span in spans for v in span] + first, dtype=torch.int64).to(device)
    grid = min(total, torch.cuda.get_device_properties(device).multi_processor_count * BLOCKS_PER_SM)
    refs = tuple(weakref.ref(t) for t in dsts) + tuple(weakref.ref(t) for t in srcs)
    return _Plan(refs, pointers, table, len(spans), total, grid, CHUNK_BYTES, device)


def batched_copy(dsts, srcs):
    """Copies each of ``srcs`` into the matching one of ``dsts`` in one launch on torch's current
    stream (asynchronous, like ``copy_(non_blocking=True)``). Returns False, having copied nothing,
    unless every pair is contiguous, of one dtype and shape, on one CUDA device where the kernel loads."""
    import torch

    if not dsts:
        return True
    key = (tuple(map(id, dsts)), tuple(map(id, srcs)), CHUNK_BYTES, BLOCKS_PER_SM)
    plan = _plans.get(key)
    pointers = _pointers(dsts, srcs)
    if plan is None or not plan.holds(pointers):
        plan = _plan(dsts, srcs, pointers)
        if plan is None:
            return False
        _plans[key] = plan
        while len(_plans) > PLANS_KEPT:
            _plans.popitem(last=False)
    _plans.move_to_end(key)
    kernel = _kernel(plan.device.index)
    if kernel is None:
        return False
    if not plan.count:
        return True
    args = [ctypes.c_uint64(plan.table.data_ptr()), ctypes.c_uint64(plan.table.data_ptr() + 24 * plan.count),
            ctypes.c_int(plan.count), ctypes.c_uint64(plan.total), ctypes.c_uint64(plan.chunk)]
    params = (ctypes.c_void_p * len(args))(*[ctypes.cast(ctypes.byref(a), ctypes.c_void_p) for a in args])
    lib = _libcuda()
    ctx, function = kernel
    _check(lib, lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    stream = ctypes.c_void_p(torch.cuda.current_stream(plan.device).cuda_stream)
    _check(lib, lib.cuLaunchKernel(function, ctypes.c_uint(plan.grid), ctypes.c_uint(1), ctypes.c_uint(1),
                                   ctypes.c_uint(THREADS), ctypes.c_uint(1), ctypes.c_uint(1), ctypes.c_uint(0),
                                   stream, params, None), "cuLaunchKernel(weightpub_batched_copy)")
    return True
