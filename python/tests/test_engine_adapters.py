"""The vLLM worker extension and the SGLang client (weightpub.engine.vllm / .sglang).

Neither engine is installed anywhere these tests run. What runs is everything on weightpub's side:
the extension's methods on two ranks, each against its own worker, applying through a model's
``load_weights`` the way vLLM calls it; and SGLang's flattened-bucket payloads decoded by torch's own
ForkingPickler in a second process behind SGLang's HTTP endpoints (CUDA only: that is how torch
shares device tensors)."""

import hashlib
import json
import os
import subprocess
import sys
import urllib.request

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from test_engine import FakeWorker, _version_message  # noqa: E402
from weightpub.engine import Version  # noqa: E402
from weightpub.engine.sglang import SGLangServer, flattened_buckets, reconstruct  # noqa: E402
from weightpub.engine.vllm import WeightpubWorkerExtension, weightpub_update  # noqa: E402


class StackedModel(torch.nn.Module):
    """A model whose load_weights packs q/k/v as vLLM's models do (their stacked_params_mapping)."""

    def __init__(self):
        super().__init__()
        self.qkv_proj = torch.nn.Parameter(torch.zeros(3, 4))
        self.norm = torch.nn.Parameter(torch.zeros(4))

    def load_weights(self, weights):
        for name, tensor in weights:
            if name.endswith("_proj.weight"):
                row = {"q_proj.weight": 0, "k_proj.weight": 1, "v_proj.weight": 2}[name]
                self.qkv_proj.data[row].copy_(tensor.reshape(4))
            else:
                getattr(self, name.split(".")[0]).data.copy_(tensor)


class Rank(WeightpubWorkerExtension):
    def __init__(self, rank):
        self.rank = rank
        self.model_runner = type("ModelRunner", (), {})()
        self.model_runner.model = StackedModel()


def _checkpoint(seed):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in
            [("q_proj.weight", (1, 4)), ("k_proj.weight", (1, 4)), ("v_proj.weight", (1, 4)), ("norm", (4,))]}


def test_every_rank_applies_the_newest_version_all_ranks_were_offered_through_load_weights(tmp_path):
    workers = [FakeWorker(tmp_path / ("worker-%d.sock" % r)) for r in (0, 1)]
    ranks = [Rank(0), Rank(1)]

    def collective_rpc(method, args=()):
        return [getattr(rank, method)(*args) for rank in ranks]

    try:
        names = collective_rpc("weightpub_subscribe", args=(str(tmp_path / "worker-{rank}.sock"), "m"))
        assert names == ["vllm-m-rank0", "vllm-m-rank1"]
        first, second = _checkpoint(1), _checkpoint(2)
        for w in workers:
            w.send(_version_message(tmp_path, 1, first))
        workers[0].send(_version_message(tmp_path, 2, second))
        collective_rpc("weightpub_offered", args=(5.0,))
        results = weightpub_update(collective_rpc)
        assert [r["version"] for r in results] == [1, 1]  # rank 1 has not been offered version 2 yet
        for rank in ranks:
            model = rank.model_runner.model
            assert torch.equal(model.qkv_proj.data, torch.from_numpy(np.concatenate(
                [first["q_proj.weight"], first["k_proj.weight"], first["v_proj.weight"]])))
            assert torch.equal(model.norm.data, torch.from_numpy(first["norm"]))
        workers[1].send(_version_message(tmp_path, 2, second))
        collective_rpc("weightpub_offered", args=(5.0,))
        assert [r["version"] for r in weightpub_update(collective_rpc)] == [2, 2]
        assert all(torch.equal(r.model_runner.model.norm.data, torch.from_numpy(second["norm"])) for r in ranks)
        for w in workers:
            assert [a["version"] for a in w.await_request("applied", count=2)] == [1, 2]
    finally:
        for rank in ranks:
            rank._weightpub.close()
        for w in workers:
            w.close()


def test_a_flattened_bucket_per_dtype_reads_back_as_the_versions_tensors(tmp_path):
    tensors = {"a.weight": np.arange(12, dtype=np.float32).reshape(3, 4), "b.ids": np.arange(5, dtype=np.int64),
               "c.weight": np.ones((2, 2), dtype=np.float32)}
    with Version(_version_message(tmp_path, 1, tensors)) as version:
        payloads = flattened_buckets(version, device="cpu")
        assert sorted(str(p["flattened_tensor"].dtype) for p in payloads) == ["torch.float32", "torch.int64"]
        back = {}
        for p in payloads:
            back.update(reconstruct(p))
    assert sorted(back) == sorted(tensors)
    for name, array in tensors.items():
        assert np.array_equal(back[name].numpy(), array)


SGLANG_STAND_IN = r'''
import hashlib, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
sys.path.insert(0, sys.argv[1])
import torch
from weightpub.engine.sglang import deserialize, reconstruct

calls = []

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        entry = {"path": self.path}
        if self.path == "/update_weights_from_tensor":
            payloads = [deserialize(s) for s in body["serialized_named_tensors"]]
            tensors = reconstruct(payloads[0])
            torch.cuda.synchronize()
            entry.update(load_format=body["load_format"], ranks=len(payloads), version=body["weight_version"],
                         device=str(payloads[0]["flattened_tensor"].device),
                         sha256={n: hashlib.sha256(t.cpu().contiguous().view(torch.uint8).numpy().tobytes()).hexdigest()
                                 for n, t in tensors.items()})
        calls.append(entry)
        self.answer({"success": True})

    def do_GET(self):  # for the test: what the server was sent
        self.answer(calls)

    def answer(self, body):
        answer = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
'''


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch shares only CUDA tensors across processes by handle")
def test_sglang_receives_each_dtype_as_a_flattened_bucket_it_decodes_with_torchs_own_pickler(tmp_path):
    script = tmp_path / "sglang_stand_in.py"
    script.write_text(SGLANG_STAND_IN)
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    server = subprocess.Popen([sys.executable, str(script), root], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        tensors = {"w": np.arange(64, dtype=np.float32).reshape(8, 8), "ids": np.arange(9, dtype=np.int64)}
        with Version(_version_message(tmp_path, 3, tensors)) as version:
            sent = SGLangServer("http://127.0.0.1:%d" % port, tp_size=2).update(version)
        assert sent == sum(a.nbytes for a in tensors.values())
        with urllib.request.urlopen("http://127.0.0.1:%d/calls" % port, timeout=30) as response:
            calls = json.loads(response.read())
    finally:
        server.kill()
    paths = [c["path"] for c in calls]
    assert paths[0] == "/pause_generation" and paths[-1] == "/continue_generation"
    updates = [c for c in calls if c["path"] == "/update_weights_from_tensor"]
    assert len(updates) == 2 and all(u["load_format"] == "flattened_bucket" and u["ranks"] == 2
                                     and u["version"] == "3" and u["device"].startswith("cuda") for u in updates)
    seen = {}
    for u in updates:
        seen.update(u["sha256"])
    assert seen == {n: hashlib.sha256(a.tobytes()).hexdigest() for n, a in tensors.items()}
