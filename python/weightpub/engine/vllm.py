"""Serving weightpub versions with vLLM: a worker extension that each vLLM worker process (one per
tensor-parallel rank) mixes in, driven through vLLM's ``collective_rpc``.

    llm = LLM(model=..., worker_extension_cls="weightpub.engine.vllm.WeightpubWorkerExtension")
    llm.collective_rpc("weightpub_subscribe", args=("/run/weightpub/worker-0.sock", "llama"))
    ...
    applied = weightpub_update(llm.collective_rpc)     # between two generate() calls

(``vllm serve --worker-extension-cls weightpub.engine.vllm.WeightpubWorkerExtension`` with
``VLLM_SERVER_DEV_MODE=1`` exposes the same methods on ``POST /collective_rpc``.) Every rank maps the
version from its local weightpub worker and hands the full tensors to vLLM's own
``model.load_weights``, which takes each rank's shard and packs q/k/v and gate/up itself. All ranks
apply the same version: ``weightpub_update`` asks each rank what it has been offered and applies
the newest version every rank has.
"""

import time

from .arrays import torch_tensors
from .client import EngineClient


class WeightpubWorkerExtension:
    """Methods vLLM adds to its worker class; ``self.model_runner.model`` is the worker's model."""

    def weightpub_subscribe(self, socket_path, model, engine=None, connect_timeout=120.0):
        """Subscribes this rank to ``model`` on the worker at ``socket_path`` (``{rank}`` in it is
        replaced by this rank's number, for hosts with a weightpub worker per GPU). Returns the
        engine name the worker reports acknowledgements under."""
        rank = int(getattr(self, "rank", 0))
        name = engine or "vllm-%s-rank%d" % (model, rank)
        self._weightpub = EngineClient(socket_path.replace("{rank}", str(rank)), model, engine=name,
                                       connect_timeout=connect_timeout)
        return name

    def weightpub_offered(self, timeout=0.0):
        """The newest version number this rank has been offered and not applied, or None."""
        return self._weightpub.newest_offered(timeout)

    def weightpub_apply(self, number, timeout=60.0, verify=True):
        """Applies version ``number`` through ``load_weights`` and acknowledges it. Returns
        ``{"version", "contentVersion", "step", "ms"}``, or None when it was not offered in time."""
        client = self._weightpub
        version = client.take(number, timeout)
        if version is None:
            return None
        start = time.perf_counter()

        def load(v):
            self.model_runner.model.load_weights(weights=list(torch_tensors(v).items()))

        client.apply(version, load, verify=verify)
        return {"version": version.version, "contentVersion": version.content_version, "step": version.step,
                "ms": (time.perf_counter() - start) * 1000.0}


def weightpub_update(collective_rpc, timeout=60.0, verify=True):
    """From the process that drives vLLM (``LLM.collective_rpc``, or a function posting to
    ``/collective_rpc``): applies the newest version that every rank has been offered, on every rank.
    Returns the ranks' results, or None when some rank has not been offered anything yet."""
    offered = collective_rpc("weightpub_offered", args=(0.0,))
    if not offered or any(n is None for n in offered):
        return None
    results = collective_rpc("weightpub_apply", args=(min(offered), timeout, verify))
    missing = [rank for rank, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError("ranks %s were not offered version %d within %.0f s" % (missing, min(offered), timeout))
    return results
