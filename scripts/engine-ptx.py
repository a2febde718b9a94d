#!/usr/bin/env python3
"""Compiles the engine side's CUDA kernel (python/weightpub/engine/cuda/batched_copy.cu) to PTX with
NVRTC through CuPy (no nvcc needed), for compute_75 so any device from Turing on JIT-compiles it.
Runs on the GPU host:

    python3 scripts/engine-ptx.py [OUT_DIR]

Writes batched_copy.ptx next to the source (commit it) and, with OUT_DIR, a copy there. The kernel is
checked against torch copies by python/tests/test_engine_cuda.py.
"""
import os
import sys

from nvrtc_ptx import compile_ptx

ARCH = "compute_75"


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "weightpub", "engine", "cuda")
    source_path = os.path.join(here, "batched_copy.cu")
    with open(source_path) as f:
        source = f.read()
    ptx = compile_ptx(source, "batched_copy.cu", ARCH)
    targets = [os.path.join(here, "batched_copy.ptx")]
    if len(sys.argv) > 1:
        os.makedirs(sys.argv[1], exist_ok=True)
        targets.append(os.path.join(sys.argv[1], "batched_copy.ptx"))
    for target in targets:
        with open(target, "w") as f:
            f.write(ptx)
    version = [line for line in ptx.splitlines() if line.startswith(".version")]
    print("batched_copy.ptx: %d bytes, %s, %s" % (len(ptx), ARCH, version[0] if version else "?"))


if __name__ == "__main__":
    main()
