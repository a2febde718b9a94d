"""A second process that owns device memory and exports it, as a worker does: allocates SIZE bytes with
cuMemAlloc, fills them with byte FILL, prints the device UUID and the base64 IPC handle, then frees the
memory when a line arrives on stdin (and exits)."""

import base64
import ctypes
import sys

from weightpub.engine.memory import _check, _IpcHandle, device_uuid


def main(size, fill):
    lib = ctypes.CDLL("libcuda.so.1")
    _check(lib, lib.cuInit(0), "cuInit")
    dev, ctx = ctypes.c_int(), ctypes.c_void_p()
    _check(lib, lib.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
    _check(lib, lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
    _check(lib, lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    pointer = ctypes.c_uint64()
    _check(lib, lib.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(size)), "cuMemAlloc")
    _check(lib, lib.cuMemsetD8_v2(pointer, ctypes.c_ubyte(fill), ctypes.c_size_t(size)), "cuMemsetD8")
    _check(lib, lib.cuCtxSynchronize(), "cuCtxSynchronize")
    handle = _IpcHandle()
    _check(lib, lib.cuIpcGetMemHandle(ctypes.byref(handle), pointer), "cuIpcGetMemHandle")
    # string_at, not handle.reserved: a c_char array reads as bytes only up to its first zero byte
    print(device_uuid(0), base64.b64encode(ctypes.string_at(ctypes.addressof(handle), 64)).decode(), flush=True)
    sys.stdin.readline()
    _check(lib, lib.cuMemFree_v2(pointer), "cuMemFree")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
