"""Python publisher throughput against Kafka's ProducerPerformance, same broker, same run.

Each run brackets one publish of a synthetic model (numpy float32 tensors, not transactional) with two
ProducerPerformance runs: as many records as the publish has chunks, each of the size of an encoded
chunk record, with the Python client's producer settings (acks=all, idempotence, linger.ms=5,
batch.size and max.request.size = chunk + 64 KiB). Throughput is record bytes per second on both
sides; the ratio is the publish's over the mean of its two brackets. Rows are appended to
OUT/summary.csv (bench publisher-python; earlier publisher-python rows are replaced) and the runs
written to OUT/publisher-python.csv. Run it through python/bench/run.sh.
"""

import argparse
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from weightpub import Publisher, crc32c  # noqa: E402
from weightpub.encoding import encode_version  # noqa: E402
from weightpub.publisher import RECORD_OVERHEAD_BYTES  # noqa: E402

TOTAL = re.compile(r"(\d+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\)")


def producer_perf(classpath, bootstrap, topic, records, record_size, props):
    args = ["java", "-Xmx1g", "-XX:+UseG1GC", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance",
            "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records),
            "--record-size", str(record_size), "--throughput", "-1", "--reporting-interval", "600000",
            "--producer-props"] + ["%s=%s" % kv for kv in props.items()]
    out = subprocess.run(args, capture_output=True, text=True, timeout=900)
    for line in reversed(out.stdout.splitlines()):
        m = TOTAL.search(line)
        if m:
            return float(m.group(2)) * record_size
    raise RuntimeError("no ProducerPerformance summary:\n" + out.stdout[-2000:] + out.stderr[-2000:])


def create_topics(bootstrap, names):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {"max.message.bytes": "2097152", "retention.bytes": "17179869184"}  # the chunks topic's settings
    futures = admin.create_topics([NewTopic(n, num_partitions=6, replication_factor=1, config=config) for n in names])
    for f in futures.values():
        f.result()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--classpath", required=True, help="class path holding kafka-tools")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", default="results/latest")
    a = p.parse_args()

    tensors = {"layer.%03d" % i: np.random.default_rng(i).standard_normal(4 << 20, dtype=np.float32)
               for i in range(a.size_mib // 16)}
    chunk = 1_044_480
    sample, _, _ = encode_version({"w": np.zeros(chunk // 4, dtype=np.float32)}, "bench", 1,
                                  "00000000-0000-0000-0000-000000000000", chunk_size=chunk)
    record_size = len(sample[0][1])
    message_max = chunk + RECORD_OVERHEAD_BYTES
    props = {"acks": "all", "enable.idempotence": "true", "linger.ms": "5", "batch.size": str(message_max),
             "max.request.size": str(message_max), "compression.type": "none"}
    create_topics(a.bootstrap, ["pybench.chunks", "pybench.manifests", "pybench-perf"])
    publisher = Publisher(a.bootstrap, "bench", topic_prefix="pybench", chunk_size=chunk)
    publisher.publish(tensors, 0)  # warm-up: connections, page cache
    runs = []
    for run in range(a.runs):
        t0 = time.monotonic()
        result = publisher.publish(tensors, run + 1)
        seconds = time.monotonic() - t0
        chunks = result.chunks
        record_bytes = chunks * record_size  # every chunk of this model is a full one of record_size
        python_bps = record_bytes / seconds
        before = producer_perf(a.classpath, a.bootstrap, "pybench-perf", chunks, record_size, props)
        after = producer_perf(a.classpath, a.bootstrap, "pybench-perf", chunks, record_size, props)
        perf_bps = (before + after) / 2
        runs.append((python_bps / 1e6, perf_bps / 1e6, python_bps / perf_bps))
        print("run %d: python %.1f MB/s, ProducerPerformance %.1f / %.1f MB/s, ratio %.3f (crc32c: %s)"
              % (run + 1, python_bps / 1e6, before / 1e6, after / 1e6, python_bps / perf_bps,
                 crc32c.IMPLEMENTATION), flush=True)
    publisher.close()
    write(a.out, "%dMiB" % a.size_mib, runs, record_size, chunks)


def number(v):
    """As the Java report's Results.number: whole numbers as integers, else Java's %.6g."""
    v = float(v)
    if v.is_integer():
        return str(int(v))
    if 1e-4 <= abs(v) < 1e6:
        return "%.*f" % (max(0, 5 - math.floor(math.log10(abs(v)))), v)
    return "%.5e" % v


def write(out, case, runs, record_size, chunks):
    """OUT/publisher-python.csv in the bench module's raw format (bench,case,run,metric,value,unit), so
    scripts/bench.sh report keeps these rows when it rebuilds summary.csv; the summary rows here."""
    os.makedirs(out, exist_ok=True)
    raw = [["publisher-python", case, "0", "record_bytes", str(record_size), "bytes"],
           ["publisher-python", case, "0", "records", str(chunks), "records"]]
    for i, r in enumerate(runs):
        raw += [["publisher-python", case, str(i), "python_mbps", number(r[0]), "MB/s"],
                ["publisher-python", case, str(i), "producer_perf_mbps", number(r[1]), "MB/s"],
                ["publisher-python", case, str(i), "ratio_python_producer", number(r[2]), "x"]]
    with open(os.path.join(out, "publisher-python.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([["bench", "case", "run", "metric", "value", "unit"]] + raw)
    import confluent_kafka
    env = [["key", "value"], ["date", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())],
           ["cores", str(os.cpu_count())], ["python", sys.version.split()[0]],
           ["librdkafka", confluent_kafka.libversion()[0]], ["confluent_kafka", confluent_kafka.version()[0]],
           ["crc32c", crc32c.IMPLEMENTATION], ["load_average_at_end", "%.2f" % os.getloadavg()[0]]]
    with open(os.path.join(out, "env-publisher-python.csv"), "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(env)

    def row(metric, values, unit):
        return ["publisher-python", case, metric, number(statistics.median(values)), number(min(values)),
                number(max(values)), str(len(values)), unit]

    rows = [row("record_bytes", [record_size], "bytes"), row("records", [chunks], "records"),
            row("python_mbps", [r[0] for r in runs], "MB/s"),
            row("producer_perf_mbps", [r[1] for r in runs], "MB/s"),
            row("ratio_python_producer", [r[2] for r in runs], "x")]
    summary = os.path.join(out, "summary.csv")
    kept = []
    if os.path.exists(summary):
        with open(summary, newline="") as f:
            kept = [r for r in csv.reader(f) if r and r[0] != "publisher-python"]
    if not kept:
        kept = [["bench", "case", "metric", "median", "min", "max", "n", "unit"]]
    with open(summary, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(kept + rows)


if __name__ == "__main__":
    main()
