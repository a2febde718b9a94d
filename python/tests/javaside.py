"""The Java side of the tests: demo's PythonTestHarness, run from the Maven build's class path."""

import glob
import json
import os
import shutil
import struct
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_TARGET = os.path.join(ROOT, "demo", "target")
HARNESS = "io.weightpub.demo.PythonTestHarness"


def classpath():
    """The harness class path, or None when the Java build (mvn package) has not run."""
    listing = os.path.join(DEMO_TARGET, "demo.classpath")
    jars = glob.glob(os.path.join(DEMO_TARGET, "weightpub-demo-*[0-9T].jar"))
    if not os.path.exists(listing) or not jars or shutil.which("java") is None:
        return None
    with open(listing, encoding="utf-8") as f:
        deps = f.read().strip()
    paths = [jars[0]] + deps.split(os.pathsep)
    if not all(os.path.exists(p) for p in paths):
        return None
    return os.pathsep.join(paths)


MISSING = "Java artifacts missing: run `mvn -B -ntp -pl demo -am package -DskipTests` first"


def command(*args):
    return ["java", "-Xmx1g", "-cp", classpath(), HARNESS] + [str(a) for a in args]


def run(*args, timeout=300):
    result = subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError("harness %s failed (%d):\n%s" % (args[0], result.returncode, result.stderr[-4000:]))
    return result.stdout


def bucket_digests(stdout):
    """{bucket index: hex sha256} from BUCKET lines."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("BUCKET "):
            _, index, digest = line.split()
            out[int(index)] = digest
    return out


_SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16", "float64": "F64", "int8": "I8", "uint8": "U8",
                       "int16": "I16", "uint16": "U16", "int32": "I32", "uint32": "U32", "int64": "I64",
                       "uint64": "U64", "bool": "BOOL"}


def write_safetensors(path, named_arrays):
    """A safetensors file of numpy arrays, data in the given order (Java reads them in data order)."""
    header = {}
    blobs = []
    offset = 0
    for name, a in named_arrays:
        data = a.tobytes()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
