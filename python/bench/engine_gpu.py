"""The engine bridge on a GPU host (issue 14): the real job with a CUDA sink serving a separate
python3 engine process through CUDA IPC. Needs the bundle of `scripts/bench.sh gpu-prepare` (a
jlink'ed Java runtime and the jars; no Java on the host), torch, transformers and safetensors.

  # on a machine with Maven (heavy: under flock /tmp/weightpub-heavy.lock):
  scripts/bench.sh gpu-prepare results/tmp/gpub            # results/tmp/gpub/weightpub-gpu.tar.xz
  # on the GPU host, from the checkout, with that file carried along:
  mkdir -p /tmp/w && tar xJf results/tmp/gpub/weightpub-gpu.tar.xz -C /tmp/w
  python3 python/bench/engine_gpu.py run --bundle /tmp/w --out OUT [--sizes 1,4,16] [--steps 3]

1. Correctness: a transformers causal LM (Llama architecture, small config, random init, bf16, no
   download). The trainer side saves --steps versions as safetensors and publishes each through the
   job; the engine process (this file, role `engine`) applies each through IPC into its own model
   (weightpub.engine: map, check every bucket's SHA-256, copy into the parameters), then compares its
   logits on a fixed prompt with a reference model loaded from the same file: bit-identical or fail.
2. Measurement: per size (GiB) --versions synthetic bf16 versions of one model, the worker keeping
   --slots slots per model, so later versions land in slots the engine has mapped before. The engine
   times apply = map (open the slot's IPC handle, or find it open) + copy every tensor into its
   preallocated parameters (weightpub.engine.copy_tensors), and the device-to-device ceiling in the
   same process: one copy of as many bytes between two of its own buffers (d2d_gbps), and from the
   mapped slot into its own memory (d2d_from_slot_gbps). apply_gbps is the
   median over versions whose slot was mapped already (steady state), first_apply_gbps the version
   that mapped a slot first. Rows (bench engine-apply, case <N>GiB) go to OUT/engine-apply.csv
   (results/gpu/summary.csv columns).
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from benchplots import bar_chart, median  # noqa: E402

GIB = 1 << 30
LM = "lm"


def lm_config():
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=4096, hidden_size=512, intermediate_size=1408, num_hidden_layers=4,
                       num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=256,
                       tie_word_embeddings=False, torch_dtype="bfloat16")


def build_lm(seed, device):
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(lm_config()).to(dtype=torch.bfloat16, device=device)
    return model.eval()


def prompt(device):
    import torch

    return torch.arange(1, 33, device=device).reshape(1, 32) * 97 % 4096


class Lines:
    """A child process's stdout, line by line, with a timeout."""

    def __init__(self, process, name):
        self.process, self.name = process, name
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            sys.stderr.write("[%s] %s" % (self.name, line if line.endswith("\n") else line + "\n"))
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None:
                raise RuntimeError("%s ended (exit %s) while waiting" % (self.name, self.process.poll()))
            if line and predicate(line):
                return line
            if time.monotonic() > deadline:
                raise TimeoutError("%s: nothing matching after %d s" % (self.name, timeout))


def run(a):
    import torch
    from safetensors.torch import save_file

    work = os.path.abspath(a.work or os.path.join(a.out, "work"))
    os.makedirs(work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    socket_template = os.path.join(work, "worker-{worker}.sock")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    java = [os.path.join(a.bundle, "jre", "bin", "java"), "-Xmx%s" % a.java_heap, "-cp",
            os.path.join(a.bundle, "lib", "*"), "io.weightpub.bench.EngineServe", "--engine-socket", socket_template,
            "--backend", a.backend, "--workers", "1", "--lease-timeout-s", "120", "--slots", str(a.slots)]
    if a.broker_dir:
        os.makedirs(a.broker_dir, exist_ok=True)
        java += ["--broker-dir", a.broker_dir]
    job = subprocess.Popen(java, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    engine = follower = None
    try:
        job_out = Lines(job, "job")
        job_out.wait_for(lambda l: l.startswith("READY"), 300)
        models = [LM] + ["bench-%dg" % s for s in sizes]
        engine = subprocess.Popen([sys.executable, os.path.abspath(__file__), "engine", "--socket",
                                   socket_template.replace("{worker}", "0"), "--work", work, "--models",
                                   ",".join(models), "--runs", str(a.runs)],
                                  stdout=subprocess.PIPE, text=True)
        engine_out = Lines(engine, "engine")
        engine_out.wait_for(lambda l: '"ready"' in l, 300)
        # The follower the demo starts per worker (python3 -m weightpub.engine): on a CUDA worker it maps
        # each version through IPC and checks every bucket's digest.
        env = dict(os.environ, PYTHONPATH=os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
        follower = subprocess.Popen([sys.executable, "-m", "weightpub.engine", "--socket",
                                     socket_template.replace("{worker}", "0"), "--model", LM, "--engine",
                                     "demo-follower", "--versions", str(a.steps)],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        follower_out = Lines(follower, "follower")

        def publish(command, timeout):
            job.stdin.write(command + "\n")
            job.stdin.flush()
            job_out.wait_for(lambda l: l.startswith("DONE") or l.startswith("ERROR"), timeout)

        def applied(model, step, timeout):
            line = engine_out.wait_for(lambda l: l.startswith("{") and json.loads(l).get("model") == model
                                       and json.loads(l).get("step") == step, timeout)
            event = json.loads(line)
            if event.get("event") != "applied":
                raise RuntimeError("engine could not apply %s step %d: %s" % (model, step, event))
            return event

        checks = []
        for step in range(1, a.steps + 1):
            path = os.path.join(work, "lm-step%d.safetensors" % step)
            state = {k: v.contiguous() for k, v in build_lm(1000 + step, "cpu").state_dict().items()}
            save_file(state, path)
            publish("FILE %s %d %s" % (LM, step, path), 600)
            event = applied(LM, step, 600)
            checks.append(event)
            if not event["identical"]:
                raise RuntimeError("step %d: logits differ from the reference model: %s" % (step, event))
        print("correctness: %d versions applied through IPC, logits bit-identical to the reference each time"
              % len(checks), flush=True)
        for step in range(1, a.steps + 1):
            line = follower_out.wait_for(lambda l: "version %d " % step in l, 120)
            if "FAILED" in line or "applied" not in line:
                raise RuntimeError("the demo's follower could not apply version %d: %s" % (step, line))
        print("follower: python3 -m weightpub.engine applied %d versions from CUDA IPC, every bucket's digest checked"
              % a.steps, flush=True)

        rows = []
        for size in sizes:
            model = "bench-%dg" % size
            events = []
            for step in range(1, a.versions + 1):
                publish("SYNTHETIC %s %d %d" % (model, step, size * GIB), 3600)
                events.append(applied(model, step, 3600))
            rows += size_rows("%dGiB" % size, events)
        with open(os.path.join(a.out, "engine-apply.csv"), "w") as f:
            f.write("bench,case,metric,median,min,max,n,unit\n")
            for bench, case, metric, value, unit in rows:
                f.write("%s,%s,%s,%.6g,%.6g,%.6g,1,%s\n" % (bench, case, metric, value, value, value, unit))
        with open(os.path.join(a.out, "engine-apply.json"), "w") as f:
            json.dump({"correctness": checks, "rows": rows, "device": torch.cuda.get_device_name(0)}, f, indent=1)
        report(rows, a.out)
        print(open(os.path.join(a.out, "engine-apply.csv")).read(), flush=True)
    finally:
        for child in (engine, follower):
            if child is not None and child.poll() is None:
                child.kill()
        try:
            job.stdin.write("STOP\n")
            job.stdin.flush()
            job.wait(timeout=120)
        except Exception:
            job.kill()


def report(rows, out):
    """engine-apply.md (a table per size) and engine-apply.png (skipped where matplotlib is missing)."""
    cases = []
    for r in rows:
        if r[1] not in cases:
            cases.append(r[1])
    value = {(r[1], r[2]): r[3] for r in rows}
    with open(os.path.join(out, "engine-apply.md"), "w") as f:
        f.write("# Engine apply through CUDA IPC (weightpub.engine)\n\n"
                "| size | apply, slot mapped before | / d2d | first apply (opens the slot) | copy only | "
                "d2d local | d2d from slot |\n|---|---|---|---|---|---|---|\n")
        for c in cases:
            f.write("| %s | %.0f GB/s (%.2f ms) | %.2f | %.0f GB/s (open %.1f ms) | %.0f GB/s | %.0f GB/s | %.0f GB/s |\n"
                    % (c, value[c, "apply_gbps"], value[c, "apply_ms"], value[c, "ratio_apply_d2d"],
                       value[c, "first_apply_gbps"], value[c, "first_map_ms"], value[c, "copy_only_gbps"],
                       value[c, "d2d_gbps"], value[c, "d2d_from_slot_gbps"]))
    series = [("apply_gbps", "apply (slot mapped before)"), ("first_apply_gbps", "first apply (opens the slot)"),
              ("copy_only_gbps", "copy only"), ("d2d_from_slot_gbps", "d2d from slot"), ("d2d_gbps", "d2d local")]
    bar_chart(os.path.join(out, "engine-apply.png"), cases,
              [(label, [value[c, metric] for c in cases]) for metric, label in series],
              "Engine apply on the GPU host vs the device-to-device ceiling")


def size_rows(case, events):
    """summary.csv rows of one size from the engine's events, one per version applied."""
    warm = [e for e in events if e["warm"]] or events
    fresh = [e for e in events if not e["warm"]] or events
    total = events[0]["bytes"]
    apply_s = median([e["apply_ms"] for e in warm]) / 1000
    d2d = median([e["d2d_gbps"] for e in events])
    rows = [("apply_gbps", total / apply_s / 1e9, "GB/s"), ("d2d_gbps", d2d, "GB/s"),
            ("ratio_apply_d2d", total / apply_s / 1e9 / d2d, "ratio"), ("apply_ms", apply_s * 1000, "ms"),
            ("first_apply_gbps", total / (fresh[0]["apply_ms"] / 1000) / 1e9, "GB/s"),
            ("first_map_ms", fresh[0]["map_ms"], "ms"), ("warm_map_ms", median([e["map_ms"] for e in warm]), "ms"),
            ("copy_only_gbps", median([e["copy_gbps"] for e in events]), "GB/s"),
            ("d2d_from_slot_gbps", median([e["d2d_from_slot_gbps"] for e in events]), "GB/s"),
            ("versions_warm", float(sum(1 for e in events if e["warm"])), "count")]
    return [("engine-apply", case, metric, value, unit) for metric, value, unit in rows]


def engine_role(a):
    import torch

    from weightpub.engine import EngineClient

    device = "cuda:0"
    clients = {m: EngineClient(a.socket, m, engine="engine-gpu-" + m, connect_timeout=300)
               for m in a.models.split(",")}
    model = build_lm(7, device) if LM in clients else None
    print(json.dumps({"event": "ready"}), flush=True)
    while True:
        for name, client in clients.items():
            version = client.next_version(timeout=0.05)
            if version is None:
                continue
            try:
                event = apply_lm(client, version, model, a.work, device) if name == LM \
                    else measure(client, version, a.runs, device)
            except Exception as e:  # reported, then the next version is still followed
                event = {"event": "failed", "error": "%s: %s" % (type(e).__name__, e)}
            event.update(model=name, step=version.step, version=version.version)
            print(json.dumps(event), flush=True)


def apply_lm(client, version, model, work, device):
    import torch
    from safetensors.torch import load_file
    from weightpub.engine import apply_to_module, torch_tensors

    start = time.perf_counter()
    client.apply(version, lambda v: apply_to_module(model, torch_tensors(v)), verify=True)
    ms = (time.perf_counter() - start) * 1000
    reference = build_lm(99, device)
    reference.load_state_dict(load_file(os.path.join(work, "lm-step%d.safetensors" % version.step), device=device))
    with torch.no_grad():
        ids = prompt(device)
        ours, theirs = model(ids).logits, reference(ids).logits
    identical = bool(torch.equal(ours, theirs))
    return {"event": "applied", "identical": identical, "apply_ms_with_digests": ms,
            "max_abs_diff": float((ours.float() - theirs.float()).abs().max())}


class Measured:
    """One synthetic model's engine-side parameters (allocated before any update, as an engine's are)
    and a flat buffer for the device-to-device ceiling."""

    def __init__(self, version, device):
        import torch
        from weightpub.engine import torch_dtype

        self.names = sorted(version.tensors)
        self.params = [torch.empty(version.tensors[n].shape, dtype=torch_dtype(version.tensors[n].dtype),
                                   device=device) for n in self.names]
        self.flat = torch.empty(version.size, dtype=torch.uint8, device=device)
        self.other = torch.ones(version.size, dtype=torch.uint8, device=device)


_measured = {}


def measure(client, version, runs, device):
    import torch
    from weightpub.engine import copy_tensors, device_copy, memory, torch_bytes, torch_tensors

    own = _measured.get(version.model)
    if own is None:
        own = _measured[version.model] = Measured(version, device)
    warm = memory.is_warm(version.memory["ipcHandle"], version.memory.get("allocation"))
    total = sum(t.size for t in version.tensors.values())
    torch.cuda.synchronize()
    start = time.perf_counter()
    tensors = torch_tensors(version)  # the slot's mapping (opened now, or already open) and the views
    mapped = time.perf_counter()
    srcs = [tensors[n] for n in own.names]
    copy_tensors(own.params, srcs)
    torch.cuda.synchronize()
    end = time.perf_counter()
    copies = []
    for _ in range(runs):
        t0 = time.perf_counter()
        copy_tensors(own.params, srcs)
        torch.cuda.synchronize()
        copies.append(time.perf_counter() - t0)
    whole = torch_bytes(version)
    from_slot, d2d = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        own.flat.copy_(whole)
        torch.cuda.synchronize()
        from_slot.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        own.flat.copy_(own.other)
        torch.cuda.synchronize()
        d2d.append(time.perf_counter() - t0)
    del tensors, srcs, whole
    client.applied(version, (end - start) * 1000)
    return {"event": "applied", "bytes": total, "warm": warm, "tensors": len(own.names),
            "one_launch_kernel": device_copy.available(torch.cuda.current_device()),
            "map_ms": (mapped - start) * 1000, "apply_ms": (end - start) * 1000,
            "apply_gbps": total / (end - start) / 1e9, "copy_gbps": total / median(copies) / 1e9,
            "d2d_gbps": version.size / median(d2d) / 1e9, "d2d_from_slot_gbps": version.size / median(from_slot) / 1e9}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bundle", required=True, help="the unpacked gpu-prepare bundle (jre/, lib/)")
    r.add_argument("--out", required=True)
    r.add_argument("--work", help="sockets and safetensors files (default OUT/work)")
    r.add_argument("--sizes", default="1,4,16", help="GiB per measured version")
    r.add_argument("--steps", type=int, default=3, help="versions of the transformers model (correctness)")
    r.add_argument("--versions", type=int, default=3, help="versions per measured size")
    r.add_argument("--slots", type=int, default=2, help="the worker's slots per model")
    r.add_argument("--broker-dir", help="the broker's data (default: the temp folder); the GPU host's disk is "
                   "64 GiB, so /dev/shm for 3 x (1 + 4 + 16) GiB")
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--backend", default="cuda")
    r.add_argument("--java-heap", default="8g")
    e = sub.add_parser("engine")
    e.add_argument("--socket", required=True)
    e.add_argument("--work", required=True)
    e.add_argument("--models", required=True)
    e.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    return run(a) if a.role == "run" else engine_role(a)


if __name__ == "__main__":
    sys.exit(main())
