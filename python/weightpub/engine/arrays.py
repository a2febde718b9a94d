"""Tensors of a mapped version without copying: numpy arrays on host memory, torch tensors on host or device.

numpy has no bfloat16 or float8: those come as their raw bits (uint16 / uint8); torch views them as
their real dtypes.
"""

import warnings

_NUMPY = {"BOOL": "?", "U8": "u1", "I8": "i1", "F8_E4M3": "u1", "F8_E5M2": "u1", "I16": "<i2", "U16": "<u2",
          "F16": "<f2", "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "I64": "<i8", "U64": "<u8",
          "F64": "<f8"}
_TORCH = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
          "I16": "int16", "U16": "uint16", "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32",
          "F32": "float32", "I64": "int64", "U64": "uint64", "F64": "float64"}


def numpy_arrays(version):
    """name -> read-only numpy array viewing the version's shared memory (host stores only)."""
    import numpy as np

    mapping = version.map()
    if mapping.kind != "host":
        raise TypeError("numpy views need host memory; version %d lives on a device (use torch_tensors)"
                        % version.version)
    out = {}
    for t in version.tensors.values():
        out[t.name] = np.frombuffer(mapping.buffer(t.offset, t.size), dtype=np.dtype(_NUMPY[t.dtype])).reshape(t.shape)
    return out


class _DeviceBytes:
    """Bytes on a device, described by ``__cuda_array_interface__`` so torch/cupy wrap them without a copy."""

    def __init__(self, pointer, size):
        self.__cuda_array_interface__ = {"shape": (size,), "typestr": "|u1", "data": (pointer, False),
                                         "version": 3, "strides": None}


def torch_dtype(name):
    import torch

    return getattr(torch, _TORCH[name])


def torch_bytes(version):
    """The whole version as one uint8 torch tensor viewing its memory (CPU or CUDA), without a copy."""
    import torch

    mapping = version.map()
    if mapping.kind == "host":
        if not mapping.size:
            return torch.empty(0, dtype=torch.uint8)
        with warnings.catch_warnings():
            # The mapping is read-only on purpose: an engine must not write into the worker's slot.
            warnings.simplefilter("ignore", UserWarning)
            return torch.frombuffer(mapping.buffer(), dtype=torch.uint8)
    return torch.as_tensor(_DeviceBytes(mapping.pointer, mapping.size), device="cuda:%d" % mapping.device)


def torch_tensors(version):
    """name -> torch tensor viewing the version's memory (CPU for host stores, CUDA for CUDA stores).

    Views, not copies: valid while the version's lease is held (copy mode: until acknowledged)."""
    mapping = version.map()
    cache = getattr(mapping, "views", None)
    if cache is not None:
        # A slot mapped before, holding a version of the same layout: its views serve again (building
        # a few hundred views costs milliseconds, as much as copying a GiB).
        key = (mapping.offset, version.layout)
        views = cache.get(key)
        if views is None:
            views = cache[key] = _views(version)
        return dict(views)
    return _views(version)


def _views(version):
    import torch

    whole = torch_bytes(version)
    out = {}
    for t in version.tensors.values():
        raw = whole[t.offset:t.offset + t.size]
        out[t.name] = raw.view(torch_dtype(t.dtype)).reshape(t.shape)
    return out
