"""Mapping a version's memory: a shared-memory file (host stores) or a CUDA IPC handle (CUDA stores).

Standard library only: ``mmap`` for host memory, ``ctypes`` on ``libcuda.so.1`` for IPC handles.
"""

import base64
import ctypes
import mmap
import os

from ..errors import WeightpubError


class MappingError(WeightpubError):
    """A version's memory could not be mapped into this process."""


class HostMapping:
    """A read-only view of a version's bytes in the worker's shared-memory file; no copy."""

    kind = "host"

    def __init__(self, path, offset, size):
        self.path, self.offset, self.size = path, int(offset), int(size)
        self._mmap = None
        if self.size > 0:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as e:
                raise MappingError("cannot open the version's shared memory %s: %s" % (path, e)) from e
            try:
                self._mmap = mmap.mmap(fd, self.offset + self.size, mmap.MAP_SHARED, mmap.PROT_READ)
            finally:
                os.close(fd)

    def buffer(self, offset=0, size=None):
        """A memoryview of bytes [offset, offset + size) of the version."""
        size = self.size - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > self.size:
            raise IndexError("bytes [%d, %d) outside the version's %d" % (offset, offset + size, self.size))
        if self._mmap is None:
            return memoryview(b"")
        return memoryview(self._mmap)[self.offset + offset:self.offset + offset + size]

    def read(self, offset, size):
        return bytes(self.buffer(offset, size))

    def close(self):
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:
                # Arrays still view it: the mapping goes when they do.
                pass
            self._mmap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _IpcHandle(ctypes.Structure):
    _fields_ = [("reserved", ctypes.c_char * 64)]


class _Uuid(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_ubyte * 16)]


_CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS = 1
_cuda = None


def _libcuda():
    global _cuda
    if _cuda is None:
        try:
            lib = ctypes.CDLL("libcuda.so.1")
        except OSError as e:
            raise MappingError("a CUDA version needs the CUDA driver (libcuda.so.1): %s" % e) from e
        _check(lib, lib.cuInit(0), "cuInit")
        _cuda = lib
    return _cuda


def _check(lib, status, what):
    if status != 0:
        name = ctypes.c_char_p()
        try:
            lib.cuGetErrorName(status, ctypes.byref(name))
        except AttributeError:
            pass
        raise MappingError("%s failed: CUDA error %d %s" % (what, status, (name.value or b"").decode()))


def _fn(lib, *names):
    for name in names:
        if hasattr(lib, name):
            return getattr(lib, name)
    raise MappingError("libcuda has none of %s" % (names,))


def device_uuid(ordinal):
    """``GPU-xxxxxxxx-...`` of CUDA device ``ordinal``, as nvidia-smi prints it."""
    lib = _libcuda()
    dev = ctypes.c_int()
    _check(lib, lib.cuDeviceGet(ctypes.byref(dev), ordinal), "cuDeviceGet")
    uuid = _Uuid()
    _check(lib, _fn(lib, "cuDeviceGetUuid_v2", "cuDeviceGetUuid")(ctypes.byref(uuid), dev), "cuDeviceGetUuid")
    h = bytes(uuid.bytes).hex()
    return "GPU-%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def device_ordinal(uuid):
    """The local ordinal of the device named ``uuid`` (as this process numbers devices)."""
    lib = _libcuda()
    count = ctypes.c_int()
    _check(lib, lib.cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
    for ordinal in range(count.value):
        if device_uuid(ordinal) == uuid:
            return ordinal
    raise MappingError("no CUDA device %s visible to this process (CUDA_VISIBLE_DEVICES?)" % uuid)


# Opened IPC handles of this process, by (handle bytes, allocation id). Opening a handle twice in one
# process is an error, so versions in the same slot share one opening, counted. Opening and first
# touching a slot's memory costs milliseconds per GiB, so a handle whose worker named its allocation
# stays open ("warm") after its last version is closed, until the worker says the allocation was
# retired (freed or replaced) or the engine disconnects: then every later version in that slot maps
# for free. A handle without an allocation id (an older worker) closes with its last version.
_opened = {}


class _Opened:
    __slots__ = ("base", "refs", "retired", "views", "dev", "ctx")

    def __init__(self, base, dev, ctx):
        # views: tensor views over this mapping by version layout (weightpub.engine.arrays), which go
        # with the mapping when it closes. dev/ctx: the primary context the mapping lives in, retained
        # by the entry, since a context whose last user releases it takes its IPC mappings with it.
        self.base, self.refs, self.retired, self.views = base, 0, False, {}
        self.dev, self.ctx = dev, ctx


def _open_handle(lib, raw, allocation, dev):
    key = (raw, allocation)
    entry = _opened.get(key)
    if entry is None:
        for other in [k for k, e in _opened.items() if k[0] == raw and e.refs == 0]:
            # The same handle bytes under another allocation: that one is gone, its mapping is stale.
            _release(lib, other)
        handle = _IpcHandle()
        ctypes.memmove(ctypes.addressof(handle), raw, 64)
        ctx = ctypes.c_void_p()
        _check(lib, lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
        _check(lib, lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        base = ctypes.c_uint64()
        status = _fn(lib, "cuIpcOpenMemHandle_v2", "cuIpcOpenMemHandle")(
            ctypes.byref(base), handle, ctypes.c_uint(_CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS))
        if status != 0:
            lib.cuDevicePrimaryCtxRelease(dev)
            _check(lib, status, "cuIpcOpenMemHandle")
        entry = _opened[key] = _Opened(base.value, dev, ctx)
    entry.refs += 1
    return entry.base


def _close_handle(lib, key):
    entry = _opened[key]
    entry.refs -= 1
    if entry.refs == 0 and (key[1] is None or entry.retired):
        _release(lib, key)


def _release(lib, key):
    entry = _opened.pop(key)
    lib.cuCtxSetCurrent(entry.ctx)
    lib.cuIpcCloseMemHandle(ctypes.c_uint64(entry.base))
    lib.cuDevicePrimaryCtxRelease(entry.dev)


def is_warm(ipc_handle, allocation):
    """Whether this process holds the mapping of ``allocation`` open already (mapping it costs nothing)."""
    raw = base64.b64decode(ipc_handle) if isinstance(ipc_handle, str) else bytes(ipc_handle)
    return (raw, allocation) in _opened


def retire(allocations):
    """Closes this process's mappings of ``allocations`` (worker-retired, or its worker is gone) once no
    version maps them any more."""
    wanted = set(allocations)
    if not wanted or not _opened:
        return
    lib = _libcuda()
    for key in [k for k in _opened if k[1] in wanted]:
        entry = _opened[key]
        entry.retired = True
        if entry.refs == 0:
            _release(lib, key)


class CudaMapping:
    """A version's bytes in the worker's device memory, opened through its CUDA IPC handle; no copy.

    ``pointer`` is this process's device address of the version's first byte. The mapping uses the
    device's primary context, the one torch and cupy use."""

    kind = "cuda"

    def __init__(self, device_uuid_, ipc_handle, offset, size, allocation=None):
        lib = _libcuda()
        self.device = device_ordinal(device_uuid_)
        self.offset, self.size = int(offset), int(size)
        dev = ctypes.c_int()
        _check(lib, lib.cuDeviceGet(ctypes.byref(dev), self.device), "cuDeviceGet")
        ctx = ctypes.c_void_p()
        _check(lib, lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
        self._ctx, self._dev = ctx, dev
        _check(lib, lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        raw = base64.b64decode(ipc_handle) if isinstance(ipc_handle, str) else bytes(ipc_handle)
        if len(raw) != 64:
            raise MappingError("a CUDA IPC handle has 64 bytes, this one %d" % len(raw))
        self._key = (raw, allocation)
        self._base = _open_handle(lib, raw, allocation, dev)
        self.pointer = self._base + self.offset
        # Kept across versions only where the mapping is (a named allocation).
        self.views = _opened[self._key].views if allocation is not None else None

    def read(self, offset, size):
        """Copies bytes [offset, offset + size) of the version to the host (for digests)."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise IndexError("bytes [%d, %d) outside the version's %d" % (offset, offset + size, self.size))
        lib = _libcuda()
        out = ctypes.create_string_buffer(size)
        lib.cuCtxSetCurrent(self._ctx)  # the calling thread may not have made it current
        if size:
            _check(lib, _fn(lib, "cuMemcpyDtoH_v2", "cuMemcpyDtoH")(
                out, ctypes.c_uint64(self.pointer + offset), ctypes.c_size_t(size)), "cuMemcpyDtoH")
        return out.raw

    def close(self):
        if self._base:
            lib = _libcuda()
            lib.cuCtxSetCurrent(self._ctx)
            _close_handle(lib, self._key)
            lib.cuDevicePrimaryCtxRelease(self._dev)
            self._base = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_memory(memory):
    """Maps the ``memory`` object of a version message."""
    kind = memory.get("kind")
    if kind == "host":
        return HostMapping(memory["path"], memory.get("offset", 0), memory["size"])
    if kind == "cuda":
        return CudaMapping(memory["deviceUuid"], memory["ipcHandle"], memory.get("offset", 0), memory["size"],
                           memory.get("allocation"))
    raise MappingError("unknown memory kind %r" % kind)
