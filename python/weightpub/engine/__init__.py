"""The engine side of weightpub: take each active version from the local worker into an inference engine.

Standard library only for the protocol and the mapping (``socket``, ``json``, ``mmap``, ``ctypes`` on
libcuda); numpy and torch helpers are imported when used. Protocol: docs/engine-protocol.md.

    from weightpub.engine import EngineClient, torch_tensors, apply_to_module
    with EngineClient("/dev/shm/weightpub-worker-0.sock", "my-model", engine="rank0") as client:
        client.poll(lambda v: apply_to_module(model, torch_tensors(v)), timeout=1.0)
"""

from .arrays import numpy_arrays, torch_bytes, torch_dtype, torch_tensors
from .client import EngineClient, LeaseRevoked
from .memory import CudaMapping, HostMapping, MappingError, device_uuid, open_memory
from .protocol import Connection, EngineProtocolError
from .torch_apply import GATE_UP, QKV, FusedParameter, WeightGate, apply_to_module, copy_tensors
from .version import Bucket, DigestMismatch, Tensor, Version

__all__ = ["EngineClient", "LeaseRevoked", "Version", "Tensor", "Bucket", "DigestMismatch", "Connection",
           "EngineProtocolError", "HostMapping", "CudaMapping", "MappingError", "open_memory", "device_uuid",
           "numpy_arrays", "torch_bytes", "torch_tensors", "torch_dtype", "apply_to_module", "copy_tensors", "FusedParameter", "QKV", "GATE_UP",
           "WeightGate"]
