"""A trainer process for the kill test: publishes one large version transactionally and prints its
progress, so the test can kill it half-way."""

import sys

import numpy as np

from weightpub import Publisher

bootstrap, model, step = sys.argv[1], sys.argv[2], int(sys.argv[3])


def report(p):
    print("PROGRESS %s %d %d" % (p.publish_id, p.bytes_acked, p.total_bytes), flush=True)


tensors = {"layer.%d" % i: np.full(1 << 20, i, dtype=np.float32) for i in range(64)}  # 256 MiB
publisher = Publisher(bootstrap, model, bucket_size=16 << 20, chunk_size=256 << 10, transactional=True,
                      progress=report, producer_config={"linger.ms": 50})
publisher.publish(tensors, step)
print("DONE", flush=True)
