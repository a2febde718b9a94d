"""Serving weightpub versions with SGLang: a controller beside an SGLang server follows a worker and
hands each version to the server through ``/update_weights_from_tensor`` with
``load_format="flattened_bucket"``, generation paused meanwhile.

    from weightpub.engine import EngineClient
    from weightpub.engine.sglang import SGLangServer

    server = SGLangServer("http://127.0.0.1:30000", tp_size=1)
    with EngineClient("/run/weightpub/worker-0.sock", "llama", engine="sglang-0") as client:
        while True:
            version = client.latest_version(timeout=1.0)
            if version is not None:
                client.apply(version, server.update)

SGLang's flattened bucket is one tensor per dtype with a tensor table in elements of that dtype. A
version's memory belongs to the weightpub worker and CUDA cannot export memory it imported, so each
dtype's tensors are first copied into a tensor this process owns (one multi-tensor copy on the
device); torch's own CUDA IPC reductions (``ForkingPickler``) then hand those to the server, which
copies them into its parameters. The buffers live until the next version is posted, since the server
may answer before its copies have run.
"""

import base64
import io
import json
import urllib.request
from collections import namedtuple

from .arrays import torch_dtype, torch_tensors
from .torch_apply import copy_tensors

FlattenedTensorMetadata = namedtuple("FlattenedTensorMetadata", "name shape dtype start_idx end_idx numel")
"""The fields SGLang's metadata has; used when SGLang itself is not importable here."""


def _metadata_type():
    try:
        from sglang.srt.weight_sync.tensor_bucket import FlattenedTensorMetadata as Theirs
        return Theirs
    except ImportError:
        return FlattenedTensorMetadata


def flattened_buckets(version, device="cuda", metadata_type=None):
    """One ``{"flattened_tensor", "metadata"}`` payload per dtype of ``version``, on ``device``, in
    memory this process owns. Tensors keep the version's order within a dtype."""
    import torch

    make = metadata_type or _metadata_type()
    views = torch_tensors(version)
    groups = {}
    for t in sorted(version.tensors.values(), key=lambda t: t.offset):
        groups.setdefault(t.dtype, []).append(t)
    payloads = []
    for dtype, tensors in groups.items():
        numel = sum(views[t.name].numel() for t in tensors)
        flat = torch.empty(numel, dtype=torch_dtype(dtype), device=device)
        metadata, dsts, srcs, start = [], [], [], 0
        for t in tensors:
            src = views[t.name]
            end = start + src.numel()
            metadata.append(make(name=t.name, shape=src.shape, dtype=src.dtype, start_idx=start, end_idx=end,
                                 numel=src.numel()))
            dsts.append(flat[start:end])
            srcs.append(src.reshape(-1))
            start = end
        copy_tensors(dsts, srcs)
        payloads.append({"flattened_tensor": flat, "metadata": metadata})
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
    return payloads


def serialize(payload):
    """``payload`` pickled with torch's reductions (CUDA tensors travel as IPC handles), base64 text:
    what SGLang's ``MultiprocessingSerializer`` reads back."""
    from multiprocessing.reduction import ForkingPickler

    import torch.multiprocessing  # noqa: F401 (registers torch's reductions with ForkingPickler)

    out = io.BytesIO()
    ForkingPickler(out).dump(payload)
    return base64.b64encode(out.getvalue()).decode("ascii")


def deserialize(text):
    """The inverse of ``serialize``, as the server does it (for tests and tools)."""
    import pickle

    import torch.multiprocessing  # noqa: F401 (registers torch's reductions for unpickling)

    return pickle.loads(base64.b64decode(text))


def reconstruct(payload):
    """name -> tensor of one decoded payload, read the way SGLang reads a flattened bucket."""
    flat = payload["flattened_tensor"]
    return {m.name: flat[m.start_idx:m.end_idx].reshape(m.shape) for m in payload["metadata"]}


class SGLangServer:
    """An SGLang server's HTTP API, as a weightpub apply function: ``update(version)`` pauses
    generation, posts one flattened bucket per dtype (the same payload to every TP rank, each takes
    its shard), names the update with the weightpub version, and continues generation."""

    def __init__(self, url, tp_size=1, device="cuda", timeout=600.0, pause=True):
        self.url = url.rstrip("/")
        self.tp_size = int(tp_size)
        self.device = device
        self.timeout = timeout
        self.pause = pause
        self._in_flight = []

    def _post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode("utf-8"),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            text = response.read().decode("utf-8") or "{}"
        answer = json.loads(text)
        if isinstance(answer, dict) and answer.get("success") is False:
            raise RuntimeError("SGLang %s refused: %s" % (path, answer.get("message", answer)))
        return answer

    def update(self, version):
        payloads = flattened_buckets(version, self.device)
        if self.pause:
            self._post("/pause_generation", {})
        try:
            for index, payload in enumerate(payloads):
                self._post("/update_weights_from_tensor", {
                    "serialized_named_tensors": [serialize(payload)] * self.tp_size,
                    "load_format": "flattened_bucket",
                    "flush_cache": index == len(payloads) - 1,
                    "weight_version": "%d" % version.version})
        finally:
            if self.pause:
                self._post("/continue_generation", {})
        # The previous version's buffers are free now: the server finished with them before this one.
        self._in_flight = payloads
        return sum(p["flattened_tensor"].numel() * p["flattened_tensor"].element_size() for p in payloads)
