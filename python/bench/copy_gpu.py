"""How an engine best copies a version out of a worker's slot into its own parameters, on a GPU host
(issue 14): the ways weightpub.engine can copy, against the device-to-device ceilings, on memory that
another process allocated with cuMemAlloc and exported through CUDA IPC, as a CUDA worker does.

    python3 python/bench/copy_gpu.py OUT [--sizes 1,4,16] [--runs 5]

Per size, a Llama-like layout of tensors (per layer 4 attention and 3 MLP matrices, 2 norms; plus
embeddings), and per way the median time of --runs copies of the whole version:
  per_tensor     one copy_ per tensor (one cudaMemcpyAsync each)
  foreach        torch._foreach_copy_
  one_launch     weightpub.engine.device_copy.batched_copy (one kernel for all tensors); _BxC: B
                 blocks per SM and chunks of C instead of the defaults
  split_<N>MiB   tensors of N MiB and more by copy_, the rest by the one-launch kernel
  ceilings: whole_from_slot (one copy of the version's bytes out of the slot) and d2d_local (one copy
  between two buffers of this process).
Writes OUT/copy-ways.csv (results/gpu/summary.csv columns, bench engine-copy) and OUT/copy-ways.md.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from benchplots import bar_chart, median  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20


def layout(total, item=2):
    """(name, numel) of a Llama-like model of about ``total`` bytes of bf16: hidden size 1024 at 1 GiB,
    2048 at 4 GiB, 4096 from 16 GiB on (Llama 3 8B's), about 300-350 tensors each."""
    hidden = 1024 if total <= GIB else 2048 if total <= 4 * GIB else 4096
    inter = hidden * 7 // 2
    embed = 32000 * hidden
    per_layer = [("q", hidden * hidden), ("k", hidden * hidden // 8), ("v", hidden * hidden // 8),
                 ("o", hidden * hidden), ("gate", hidden * inter), ("up", hidden * inter),
                 ("down", hidden * inter), ("in_norm", hidden), ("post_norm", hidden)]
    layer_bytes = sum(n for _, n in per_layer) * item
    layers = max(1, (total - 2 * embed * item) // layer_bytes)
    out = [("embed", embed)]
    for i in range(layers):
        out += [("layers.%d.%s" % (i, name), n) for name, n in per_layer]
    out += [("norm", hidden), ("lm_head", embed)]
    return out


def timed(fn, runs):
    import torch

    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return median(times)


def main():
    import torch
    from weightpub.engine import device_copy
    from weightpub.engine.memory import CudaMapping

    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--sizes", default="1,4,16")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    exporter = os.path.join(os.path.dirname(__file__), "..", "tests", "ipc_exporter.py")
    rows = []
    for size_gib in [int(s) for s in a.sizes.split(",")]:
        tensors = layout(size_gib * GIB)
        total = sum(n for _, n in tensors) * 2
        env = dict(os.environ, PYTHONPATH=os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
        child = subprocess.Popen([sys.executable, exporter, str(total), "7"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env)
        uuid, handle = child.stdout.readline().split()
        mapping = CudaMapping(uuid, handle, 0, total, allocation="%016x" % size_gib)
        whole = torch.as_tensor(_bytes(mapping), device="cuda")
        srcs, offset = [], 0
        for _, n in tensors:
            srcs.append(whole[offset:offset + 2 * n].view(torch.bfloat16))
            offset += 2 * n
        dsts = [torch.empty(n, dtype=torch.bfloat16, device="cuda") for _, n in tensors]
        flat = torch.empty(total, dtype=torch.uint8, device="cuda")
        other = torch.empty(total, dtype=torch.uint8, device="cuda")

        def split(threshold):
            def run():
                big = [(d, s) for d, s in zip(dsts, srcs) if d.numel() * 2 >= threshold]
                small = [(d, s) for d, s in zip(dsts, srcs) if d.numel() * 2 < threshold]
                for d, s in big:
                    d.copy_(s, non_blocking=True)
                if small:
                    device_copy.batched_copy([d for d, _ in small], [s for _, s in small])
            return run

        def tuned(blocks_per_sm, chunk):
            def run():
                saved = device_copy.BLOCKS_PER_SM, device_copy.CHUNK_BYTES
                device_copy.BLOCKS_PER_SM, device_copy.CHUNK_BYTES = blocks_per_sm, chunk
                try:
                    device_copy.batched_copy(dsts, srcs)
                finally:
                    device_copy.BLOCKS_PER_SM, device_copy.CHUNK_BYTES = saved
            return run

        ways = {
            "per_tensor": lambda: [d.copy_(s, non_blocking=True) for d, s in zip(dsts, srcs)],
            "foreach": lambda: torch._foreach_copy_(dsts, srcs, non_blocking=True),
            "one_launch": lambda: device_copy.batched_copy(dsts, srcs),
            "one_launch_8x256KiB": tuned(8, 256 << 10),
            "one_launch_32x256KiB": tuned(32, 256 << 10),
            "one_launch_32x1MiB": tuned(32, MIB),
            "split_8MiB": split(8 * MIB),
            "split_64MiB": split(64 * MIB),
            "split_foreach_8MiB": lambda: ([d.copy_(s, non_blocking=True) for d, s in zip(dsts, srcs)
                                            if d.numel() * 2 >= 8 * MIB],
                                           torch._foreach_copy_([d for d in dsts if d.numel() * 2 < 8 * MIB],
                                                                [s for d, s in zip(dsts, srcs)
                                                                 if d.numel() * 2 < 8 * MIB], non_blocking=True)),
            "whole_from_slot": lambda: flat.copy_(whole),
            "d2d_local": lambda: flat.copy_(other),
        }
        results = {}
        for name, fn in ways.items():
            seconds = timed(fn, a.runs)
            results[name] = total / seconds / 1e9
            print("%2d GiB %4d tensors %-16s %8.1f GB/s %8.2f ms" % (size_gib, len(tensors), name, results[name],
                                                                    seconds * 1000), flush=True)
        for d, s in zip(dsts, srcs):
            assert torch.equal(d.view(torch.int16), s.view(torch.int16)), "a copy differs"
        for name, gbps in results.items():
            rows.append(("engine-copy", "%dGiB" % size_gib, name + "_gbps", gbps, "GB/s"))
            rows.append(("engine-copy", "%dGiB" % size_gib, name + "_ratio_d2d", gbps / results["d2d_local"], "ratio"))
        del srcs, dsts, flat, other, whole
        mapping.close()
        from weightpub.engine import memory
        memory.retire(["%016x" % size_gib])
        torch.cuda.empty_cache()
        child.stdin.write("free\n")
        child.stdin.flush()
        child.wait(timeout=60)
    with open(os.path.join(a.out, "copy-ways.csv"), "w") as f:
        f.write("bench,case,metric,median,min,max,n,unit\n")
        for bench, case, metric, value, unit in rows:
            f.write("%s,%s,%s,%.6g,%.6g,%.6g,%d,%s\n" % (bench, case, metric, value, value, value, a.runs, unit))
    with open(os.path.join(a.out, "copy-ways.md"), "w") as f:
        f.write("# Copying a version out of a slot (H200, %s)\n\n| case | way | GB/s | / d2d local |\n|---|---|---|---|\n"
                % torch.cuda.get_device_name(0))
        for bench, case, metric, value, unit in rows:
            if metric.endswith("_gbps"):
                way = metric[:-5]
                ratio = [r[3] for r in rows if r[1] == case and r[2] == way + "_ratio_d2d"][0]
                f.write("| %s | %s | %.0f | %.2f |\n" % (case, way, value, ratio))
    plot(rows, os.path.join(a.out, "copy-ways.png"))


def plot(rows, path):
    cases = sorted({r[1] for r in rows}, key=lambda c: int(c[:-3]))
    ways = [r[2][:-5] for r in rows if r[1] == cases[0] and r[2].endswith("_gbps")]
    value = {(r[1], r[2]): r[3] for r in rows}
    bar_chart(path, cases, [(way, [value[c, way + "_gbps"] for c in cases]) for way in ways],
              "Copying a version out of an IPC-mapped slot into an engine's parameters", figsize=(11, 5))


def _bytes(mapping):
    from weightpub.engine.arrays import _DeviceBytes

    return _DeviceBytes(mapping.pointer, mapping.size)


if __name__ == "__main__":
    main()
