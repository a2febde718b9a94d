"""Against a real broker and the real Java job (PythonTestHarness cluster: Kafka, the job on a Flink
MiniCluster, 2 workers with host stores and reference workers)."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import urllib.parse

import numpy as np
import pytest
from confluent_kafka import Consumer, TopicPartition

import javaside
import tensors_fixture
from weightpub import Publisher, plan_ranks, tensor_meta, wire
from weightpub.encoding import encode_version
from weightpub.publisher import chunk_partition

pytestmark = pytest.mark.integration
BUCKET = 4096
CHUNK = 1000


def version_sha256(tensors, bucket_size=BUCKET, chunk_size=CHUNK):
    """SHA-256 of the whole version (buckets end to end), computed in Python."""
    chunks, _, _ = encode_version(tensors, "m", 0, "p", bucket_size, chunk_size)
    sha = hashlib.sha256()
    for _, value in chunks:
        sha.update(wire.CHUNK.decode(value)["payload"])
    return sha.hexdigest()


def model_tensors(seed):
    return tensors_fixture.mixed(seed=seed, scale=40)  # several buckets of several chunks


def test_three_python_versions_become_active_on_every_worker_with_python_digests(cluster):
    model = "py/three versions"
    with Publisher(cluster.bootstrap, model, bucket_size=BUCKET, chunk_size=CHUNK) as publisher:
        for version, step in enumerate([10, 20, 30], start=1):
            tensors = model_tensors(seed=step)
            result = publisher.publish(tensors, step)
            assert len(result.bucket_sha256) > 1
            expected = version_sha256(tensors)
            for reply in cluster.await_active(model, version):
                assert (reply["version"], reply["sha256"]) == (version, expected)
            name = "norm/with space+plus"
            tensor = dict(tensors)[name]
            for worker in range(2):
                status, body = cluster.get(worker, "/models/%s/tensors/%s/sha256" % (
                    urllib.parse.quote(model, safe=""), urllib.parse.quote(name, safe="")))
                assert status == 200, body
                assert body["sha256"] == hashlib.sha256(tensor.tobytes()).hexdigest()
                assert (body["dtype"], body["shape"], body["version"]) == ("F32", [6], version)


def test_python_and_java_publishes_of_the_same_tensors_give_equal_bucket_digests(cluster, tmp_path):
    model = "py/same-tensors"
    tensors = model_tensors(seed=99)
    with Publisher(cluster.bootstrap, model, bucket_size=BUCKET, chunk_size=CHUNK) as publisher:
        python = publisher.publish(tensors, step=1)
    path = tmp_path / "same.safetensors"
    javaside.write_safetensors(path, tensors)
    out = javaside.run("publish", cluster.bootstrap, "weightpub", model, 2, path, BUCKET, CHUNK)
    java = javaside.bucket_digests(out)
    assert {i: d.hex() for i, d in python.bucket_sha256.items()} == java
    first = cluster.await_active(model, 1)
    second = cluster.await_active(model, 2)
    assert [r["sha256"] for r in first] == [r["sha256"] for r in second] == [version_sha256(tensors)] * 2


def test_a_transactional_publish_killed_half_way_is_never_seen(cluster):
    model = "py/killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    trainer = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "kill_target.py"),
                                cluster.bootstrap, model, "5"], stdout=subprocess.PIPE, text=True, env=env)
    killed_publish = None
    for line in trainer.stdout:
        _, publish_id, acked, total = line.split()
        killed_publish = publish_id
        if int(acked) >= int(total) // 3:  # acknowledged by the broker, the transaction still open
            trainer.send_signal(signal.SIGKILL)
            break
    trainer.wait()
    assert trainer.returncode == -signal.SIGKILL and killed_publish
    # The restarted trainer (same transactional id) fences the killed one, aborting its transaction.
    tensors = model_tensors(seed=6)
    with Publisher(cluster.bootstrap, model, bucket_size=BUCKET, chunk_size=CHUNK, transactional=True) as publisher:
        good = publisher.publish(tensors, step=6)
    replies = cluster.await_active(model, 1)
    assert [r["sha256"] for r in replies] == [version_sha256(tensors)] * 2
    for worker in range(2):
        _, status = cluster.get(worker, "/status")
        entry = status["models"][model]
        assert entry["publishId"] == good.publish_id and entry["activeVersion"] == 1
        assert all(s["publishId"] != killed_publish for s in entry["staged"])
    committed, uncommitted = (_chunk_keys_of(cluster.bootstrap, model, killed_publish, isolation)
                              for isolation in ("read_committed", "read_uncommitted"))
    assert committed == 0 and uncommitted > 0


def _chunk_keys_of(bootstrap, model, publish_id, isolation):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-test-" + isolation,
                         "isolation.level": isolation, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    try:
        metadata = consumer.list_topics("weightpub.chunks", timeout=10)
        partitions = [TopicPartition("weightpub.chunks", p, 0) for p in metadata.topics["weightpub.chunks"].partitions]
        consumer.assign(partitions)
        prefix = ("%s/%s/" % (model, publish_id)).encode()
        placed = []
        idle = 0
        while idle < 3:
            batch = consumer.consume(500, timeout=1.0)
            idle = idle + 1 if not batch else 0
            for m in batch:
                if m.error() is None and (m.key() or b"").startswith(prefix):
                    c = wire.CHUNK.decode(m.value())
                    placed.append((c["bucket_index"], c["chunk_index"], c["chunk_count"], m.partition()))
        # Round robin over the partitions from the publish id's start, as Java's publisher places them;
        # the killed publish reached its first buckets only, whose chunk numbers do not depend on the rest.
        counts = {b: n for b, _, n, _ in placed}
        for b, chunk, _, partition in placed:
            assert all(prior in counts for prior in range(b)), "bucket %d seen without the ones before it" % b
            seq = sum(counts[prior] for prior in range(b)) + chunk
            assert partition == chunk_partition(publish_id, len(partitions), seq)
        return len(placed)
    finally:
        consumer.close()


def test_two_ranks_publish_one_version_together(cluster):
    model = "py/two-ranks"
    rng = np.random.default_rng(3)
    shards = [[("rank0.w%d" % i, rng.standard_normal(700, dtype=np.float32)) for i in range(4)],
              [("rank1.w%d" % i, rng.standard_normal(500, dtype=np.float32)) for i in range(5)]]
    # Every rank computes the same layout from every rank's metadata (in a trainer: all_gather_object).
    metas = [[tensor_meta(n, t) for n, t in shard] for shard in shards]
    layout = plan_ranks(metas, BUCKET, CHUNK)
    publish_id = "two-ranks-%d" % os.getpid()
    publishers = [Publisher(cluster.bootstrap, model, bucket_size=BUCKET, chunk_size=CHUNK, transactional=True,
                            rank=r) for r in range(2)]
    results = [None, None]

    def rank(r):
        results[r] = publishers[r].publish_shard(shards[r], 7, publish_id, layout)

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results[0].bucket_sha256) == set(range(*layout.rank_buckets[0]))
    assert set(results[1].bucket_sha256) == set(range(*layout.rank_buckets[1]))
    published = publishers[0].publish_manifest(7, publish_id, layout, results)  # after the barrier
    for p in publishers:
        p.close()
    assert [b["index"] for b in published.manifest["buckets"]] == list(range(len(layout.buckets)))
    expected = hashlib.sha256(b"".join(_bucket_bytes(layout, dict(shards[0] + shards[1])))).hexdigest()
    assert [r["sha256"] for r in cluster.await_active(model, 1)] == [expected] * 2


def _bucket_bytes(layout, tensors):
    for b in layout.buckets:
        data = bytearray(b.size)
        for s in b.slots:
            data[s.start:s.end] = tensors[s.meta.name].tobytes()
        yield bytes(data)
