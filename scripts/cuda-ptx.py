#!/usr/bin/env python3
"""Compiles store/src/main/cuda/sha256_tree.cu to PTX with NVRTC (through CuPy, no nvcc needed) for
sm_90 and a portable older target, checks the kernel against hashlib on random data of odd sizes,
and times it. Runs on the GPU host (python3 with cupy).

    python3 scripts/cuda-ptx.py store/src/main/cuda/sha256_tree.cu OUT_DIR [--bench]

Writes OUT_DIR/sha256_tree.sm_90.ptx and OUT_DIR/sha256_tree.compute_XX.ptx (commit them under
store/src/main/resources/io/weightpub/store/cuda/). Exits non-zero when any digest differs.
"""
import concurrent.futures
import hashlib
import os
import sys
import time

import cupy as cp
import numpy as np

from nvrtc_ptx import compile_ptx, version as nvrtc_version

GIB = 1 << 30


def tree_digest(data, leaf):
    """The reference: SHA-256 over the SHA-256 of each leaf."""
    root = hashlib.sha256()
    for start in range(0, len(data), leaf):
        root.update(hashlib.sha256(data[start:start + leaf]).digest())
    return root.digest()


class Kernel:
    def __init__(self, ptx_path):
        self.module = cp.RawModule(path=ptx_path)
        self.leaves = self.module.get_function("sha256_leaves")
        self.root = self.module.get_function("sha256_root")

    def launch(self, ptr, size, leaf, digests, root_out, stream=None, threads=128):
        count = (size + leaf - 1) // leaf
        if count:
            self.leaves(((count + threads - 1) // threads,), (threads,),
                        (cp.uint64(ptr), cp.uint64(size), cp.uint64(leaf), digests), stream=stream)
        self.root((1,), (1,), (digests, cp.uint64(count), root_out), stream=stream)

    def digest(self, buf, offset, size, leaf):
        count = (size + leaf - 1) // leaf
        digests = cp.zeros(max(1, count) * 32, dtype=cp.uint8)
        root = cp.zeros(32, dtype=cp.uint8)
        self.launch(buf.data.ptr + offset, size, leaf, digests, root)
        return bytes(root.get())


def check(kernel):
    rng = np.random.default_rng(15)
    failures = 0
    cases = 0
    for leaf in (64 << 10, 256 << 10, 1 << 20):
        for size in (0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, leaf - 1, leaf, leaf + 1, leaf + 55,
                     3 * leaf + 12345, 7 * leaf - 9):
            for misalign in (0, 3, 16):
                host = rng.integers(0, 256, size + misalign, dtype=np.uint8)
                dev = cp.asarray(host)
                got = kernel.digest(dev, misalign, size, leaf)
                want = tree_digest(host[misalign:].tobytes(), leaf)
                cases += 1
                if got != want:
                    failures += 1
                    print("MISMATCH leaf=%d size=%d misalign=%d got=%s want=%s"
                          % (leaf, size, misalign, got.hex(), want.hex()))
    # One flipped bit in one leaf changes the root.
    host = rng.integers(0, 256, 5 * (1 << 20) + 77, dtype=np.uint8)
    dev = cp.asarray(host)
    clean = kernel.digest(dev, 0, host.size, 1 << 20)
    dev[3 * (1 << 20) + 5] ^= 1
    cases += 1
    if kernel.digest(dev, 0, host.size, 1 << 20) == clean:
        failures += 1
        print("MISMATCH a flipped bit did not change the root")
    print("check: %d cases, %d failures" % (cases, failures))
    return failures


def timed(fn, reps=3):
    fn()
    cp.cuda.Device().synchronize()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def bench(kernel, sizes_gib=(2, 8, 32), leaves=(64 << 10, 256 << 10, 1 << 20), bucket=512 << 20, streams=8):
    big = cp.empty(max(sizes_gib) * GIB, dtype=cp.uint8)
    big.view(cp.uint32)[:] = cp.arange(big.size // 4, dtype=cp.uint32) * cp.uint32(2654435761)
    dst = cp.empty(max(sizes_gib) * GIB, dtype=cp.uint8)
    pool = [cp.cuda.Stream(non_blocking=True) for _ in range(streams)]
    print("bench,size_gib,leaf_kib,device_tree_gbps,one_launch_gbps,root_ms_per_bucket")
    rows = {}
    for gib in sizes_gib:
        size = gib * GIB
        for leaf in leaves:
            nb = size // bucket
            per = bucket // leaf
            digests = cp.zeros((nb, per * 32), dtype=cp.uint8)
            roots = cp.zeros((nb, 32), dtype=cp.uint8)

            def per_bucket():
                for b in range(nb):
                    kernel.launch(big.data.ptr + b * bucket, bucket, leaf, digests[b], roots[b], stream=pool[b % streams])
                for s in pool:
                    s.synchronize()

            all_digests = cp.zeros(size // leaf * 32, dtype=cp.uint8)
            one_root = cp.zeros(32, dtype=cp.uint8)

            def one_launch():
                count = size // leaf
                kernel.leaves(((count + 127) // 128,), (128,),
                              (cp.uint64(big.data.ptr), cp.uint64(size), cp.uint64(leaf), all_digests))

            def root_only():
                kernel.root((1,), (1,), (digests[0], cp.uint64(per), one_root))

            t = timed(per_bucket)
            t1 = timed(one_launch)
            tr = timed(root_only)
            rows[(gib, leaf)] = size / t / 1e9
            print("verify,%d,%d,%.1f,%.1f,%.3f" % (gib, leaf >> 10, size / t / 1e9, size / t1 / 1e9, tr * 1e3))
            sys.stdout.flush()
            del digests, roots, all_digests
    print("bench,size_gib,d2d_gbps,copyback_cpu_gbps")
    threads = os.cpu_count() or 4
    with concurrent.futures.ThreadPoolExecutor(threads) as hashers:
        for gib in sizes_gib:
            size = gib * GIB
            td = timed(lambda: dst[:size].__setitem__(slice(None), big[:size]))
            host = cp.cuda.alloc_pinned_memory(size)
            host_view = np.frombuffer(host, dtype=np.uint8, count=size)

            def copyback():
                big[:size].get(out=host_view)
                list(hashers.map(lambda b: hashlib.sha256(host_view[b * bucket:(b + 1) * bucket]).digest(),
                                 range(size // bucket)))

            tc = timed(copyback, reps=1)
            print("verify,%d,%.1f,%.1f" % (gib, size / td / 1e9, size / tc / 1e9))
            sys.stdout.flush()
            del host, host_view


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    source = open(src).read()
    print("nvrtc", nvrtc_version(), "device", cp.cuda.runtime.getDeviceProperties(0)["name"])
    paths = []
    for arch in ("compute_90", "compute_70", "compute_75"):
        try:
            ptx = compile_ptx(source, "sha256_tree.cu", arch)
        except Exception as e:
            print("skipping", arch, str(e).splitlines()[0])
            continue
        name = "sha256_tree.sm_90.ptx" if arch == "compute_90" else "sha256_tree.%s.ptx" % arch
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(ptx)
        paths.append(path)
        print("wrote", path, len(ptx), "chars")
        if arch != "compute_90":
            break  # one portable target is enough: the oldest this NVRTC still accepts
    failures = 0
    for path in paths:
        print("checking", path)
        failures += check(Kernel(path))
    if "--bench" in sys.argv:
        bench(Kernel(paths[0]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
