"""PTX from CUDA C source with NVRTC through CuPy (no nvcc needed), for the scripts that compile this
project's kernels on the GPU host (cuda-ptx.py: the store's tree digest; engine-ptx.py: the engine's
batched copy)."""

try:
    from cupy_backends.cuda.libs import nvrtc
except ImportError:  # older CuPy layouts
    from cupy.cuda import nvrtc


def compile_ptx(source, name, arch):
    """The PTX text of ``source`` (file name ``name`` in messages) for virtual architecture ``arch``."""
    prog = nvrtc.createProgram(source, name, [], [])
    try:
        nvrtc.compileProgram(prog, ["--gpu-architecture=" + arch, "-std=c++11"])
    except Exception as e:
        raise RuntimeError("NVRTC %s failed for %s: %s\n%s" % (arch, name, e, nvrtc.getProgramLog(prog)))
    ptx = nvrtc.getPTX(prog)
    nvrtc.destroyProgram(prog)
    return (ptx.decode() if isinstance(ptx, bytes) else ptx).rstrip("\0")


def version():
    return nvrtc.getVersion()
