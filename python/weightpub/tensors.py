"""Reading torch tensors (CPU or CUDA) and numpy arrays as little-endian bytes, bucket by bucket."""

from .errors import TensorError
from .layout import TensorMeta

_NUMPY_DTYPES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16",
                 "int32": "I32", "uint32": "U32", "float32": "F32", "int64": "I64", "uint64": "U64",
                 "float64": "F64"}
_TORCH_DTYPES = {"torch.bool": "BOOL", "torch.uint8": "U8", "torch.int8": "I8", "torch.int16": "I16",
                 "torch.uint16": "U16", "torch.float16": "F16", "torch.bfloat16": "BF16", "torch.int32": "I32",
                 "torch.uint32": "U32", "torch.float32": "F32", "torch.int64": "I64", "torch.uint64": "U64",
                 "torch.float64": "F64", "torch.float8_e4m3fn": "F8_E4M3", "torch.float8_e5m2": "F8_E5M2"}


def _is_torch(t):
    return type(t).__module__.startswith("torch")


def named_tensors(source):
    """(name, tensor) pairs of a state_dict, a mapping, or an iterable of pairs, in order."""
    items = source.items() if hasattr(source, "items") else source
    return [(str(name), t) for name, t in items]


def meta(name, t):
    if _is_torch(t):
        dtype = _TORCH_DTYPES.get(str(t.dtype))
        shape = tuple(int(d) for d in t.shape)
    elif hasattr(t, "dtype") and hasattr(t, "shape"):
        dtype = _NUMPY_DTYPES.get(t.dtype.name)
        shape = tuple(int(d) for d in t.shape)
    else:
        raise TensorError("tensor %s is a %s, expected a torch tensor or a numpy array" % (name, type(t).__name__))
    if dtype is None:
        raise TensorError("tensor %s has dtype %s, which has no safetensors name" % (name, t.dtype))
    return TensorMeta(name, shape, dtype)


def is_cuda(t):
    return _is_torch(t) and t.is_cuda


def host_bytes(name, t):
    """A memoryview of a host tensor's bytes in C order, little endian (copied only when needed)."""
    try:
        if _is_torch(t):
            import torch

            flat = t.detach().contiguous().reshape(-1)
            return memoryview(flat.view(torch.uint8).numpy()).cast("B")
        import numpy as np

        a = np.ascontiguousarray(t).reshape(-1)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        return memoryview(a.view(np.uint8)).cast("B")
    except (RuntimeError, ValueError, TypeError) as e:
        raise TensorError("tensor %s: cannot read its bytes: %s" % (name, e)) from e


class CudaStager:
    """Copies a bucket's CUDA tensors into pinned host memory on a side stream.

    ``start(bucket)`` queues the copies of one bucket and returns at once, so the next bucket is
    copied while the current one is being sent; ``wait()`` returns the bucket's bytes. Two pinned
    buffers alternate (the one being sent is never overwritten).
    """

    def __init__(self, tensors_by_name):
        import torch

        self._torch = torch
        self._tensors = tensors_by_name
        self._stream = torch.cuda.Stream()
        self._buffers = [None, None]
        self._turn = 0
        self._pending = None

    def start(self, bucket):
        torch = self._torch
        i = self._turn
        self._turn ^= 1
        buf = self._buffers[i]
        if buf is None or buf.numel() < bucket.size:
            buf = self._buffers[i] = torch.empty(max(bucket.size, 1), dtype=torch.uint8, pin_memory=True)
        buf[:bucket.size].zero_()
        host_slots = []
        self._stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self._stream):
            for slot in bucket.slots:
                if slot.end == slot.start:
                    continue
                t = self._tensors[slot.meta.name]
                if t.is_cuda:
                    src = t.detach().contiguous().reshape(-1).view(torch.uint8)
                    buf[slot.start:slot.end].copy_(src, non_blocking=True)
                else:
                    host_slots.append(slot)
            event = torch.cuda.Event()
            event.record(self._stream)
        for slot in host_slots:  # a CPU tensor among CUDA ones
            view = host_bytes(slot.meta.name, self._tensors[slot.meta.name])
            buf[slot.start:slot.end].numpy()[:] = view
        self._pending = (buf, event, bucket.size)

    def wait(self):
        buf, event, size = self._pending
        event.synchronize()
        return memoryview(buf[:size].numpy()).cast("B")
