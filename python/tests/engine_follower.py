"""An engine process for the Java ITCase (EngineBridgeITCase): follows a worker's versions through
weightpub.engine and prints one JSON line per event on stdout.

  applied: {"event": "applied", "version", "contentVersion", "tensors": {name: sha256 of the mapped bytes}}
  --hold:  {"event": "offered", "version"} and never acknowledges; {"event": "revoked", "version"} when told
"""

import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from weightpub.engine import EngineClient, numpy_arrays  # noqa: E402


def emit(**event):
    print(json.dumps(event), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--until-version", type=int, default=1 << 62)
    p.add_argument("--hold", action="store_true", help="never acknowledge: keep every lease")
    p.add_argument("--seconds", type=float, default=300)
    a = p.parse_args()
    deadline = time.monotonic() + a.seconds
    with EngineClient(a.socket, a.model, engine=a.engine, connect_timeout=60) as client:
        emit(event="subscribed", worker=client.worker)
        reported = set()
        held = []
        while time.monotonic() < deadline:
            version = client.next_version(timeout=0.1)
            if a.hold:
                if version is not None:
                    held.append(version)
                    emit(event="offered", version=version.version)
                client._drain()
                for v in held:
                    if v.revoked and v.version not in reported:
                        reported.add(v.version)
                        emit(event="revoked", version=v.version, reason=v.revoked)
                continue
            if version is None:
                continue
            digests = {}

            def copy(v):
                # What an engine would copy out: the mapped arrays, each tensor's bytes hashed as mapped.
                for name, array in numpy_arrays(v).items():
                    digests[name] = hashlib.sha256(array.tobytes()).hexdigest()

            client.apply(version, copy)
            emit(event="applied", version=version.version, contentVersion=version.content_version, tensors=digests)
            if version.version >= a.until_version:
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
