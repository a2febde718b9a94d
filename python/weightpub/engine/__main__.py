"""Follow a model's versions on one worker and check each against its manifest (no engine attached):

    python3 -m weightpub.engine --socket /run/weightpub/worker-0.sock --model llama [--engine NAME]

Prints one line per version; acknowledges each as applied (copy mode), or failed when a digest
differs. Standard library only."""

import argparse
import sys
import time

from .client import EngineClient


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m weightpub.engine", description=__doc__)
    p.add_argument("--socket", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--engine", help="the name the worker reports this engine under (default host-pid)")
    p.add_argument("--versions", type=int, default=0, help="stop after this many versions (0: never)")
    a = p.parse_args(argv)
    done = 0
    with EngineClient(a.socket, a.model, engine=a.engine, connect_timeout=120) as client:
        while not a.versions or done < a.versions:
            version = client.next_version(timeout=1.0)
            if version is None:
                continue
            start = time.perf_counter()
            try:
                client.apply(version, lambda v: None, verify=True)
            except Exception as e:
                print("engine %s (worker %s): version %d FAILED: %s" % (client.engine, client.worker,
                                                                        version.version, e), flush=True)
                continue
            print("engine %s (worker %s): applied version %d (content %d, step %d): %d tensors, %.1f MiB mapped "
                  "from %s, every bucket's SHA-256 checked in %.0f ms"
                  % (client.engine, client.worker, version.version, version.content_version, version.step,
                     len(version.tensors), version.size / 2**20, version.memory["kind"],
                     (time.perf_counter() - start) * 1000), flush=True)
            done += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
