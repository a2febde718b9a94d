"""The trainer-side publisher: a state_dict in memory to weightpub's Kafka topics."""

import sys
import threading
import time
import uuid
from collections import namedtuple

try:
    from confluent_kafka import KafkaException, Producer
except ImportError as _missing:  # layout and encoding work without Kafka (e.g. checking records on a GPU host)
    _KAFKA_MISSING = _missing

    class KafkaException(Exception):
        """Stands in for confluent_kafka's, which is not installed: never raised."""

    Producer = None
else:
    _KAFKA_MISSING = None

from . import crc32c as _crc
from . import layout as _layout
from . import tensors as _tensors
from . import wire
from .encoding import ChunkEncoder, build_manifest, chunk_key, encode_version  # noqa: F401 (re-exported)
from .errors import LayoutError, PublishError, TensorError
from .progress import TerminalBar

# Room for the key, the Avro fields and the batch header around a chunk payload (as Java's).
RECORD_OVERHEAD_BYTES = 64 * 1024
# librdkafka's default message.max.bytes; raised when a chunk record needs more.
LIBRDKAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1_000_000
TRANSACTION_MIN_THROUGHPUT = 32 << 20
# Bytes handed to librdkafka but not yet acknowledged; the send loop waits above it, so memory stays
# bounded and progress (acknowledged bytes) keeps being reported (Java's buffer.memory plays this role).
MAX_IN_FLIGHT_BYTES = 64 << 20
KAFKA_DEFAULT_TRANSACTION_TIMEOUT_S = 60
TRANSACTION_MARGIN_S = 30

Progress = namedtuple("Progress", "model_id step publish_id bytes_sent bytes_acked total_bytes chunks_sent "
                                  "chunk_total elapsed_s")
PublishResult = namedtuple("PublishResult", "publish_id step total_bytes chunks bucket_sha256 manifest elapsed_s")
ShardResult = namedtuple("ShardResult", "rank publish_id bucket_sha256")
ShardResult.__doc__ = "What a rank sent: bucket index -> raw 32-byte SHA-256, for publish_manifest."


def topic_names(prefix):
    return {"chunks": prefix + ".chunks", "manifests": prefix + ".manifests"}


class Publisher:
    """Publishes versions of one model; meant to live as long as the trainer.

    Chunks go to ``<topic_prefix>.chunks`` keyed ``model/publish/bucket``, placed round robin over
    the partitions as Java's publisher places them (:func:`chunk_partition`), the
    manifest to ``<topic_prefix>.manifests`` keyed by the model id, after every chunk was
    acknowledged, or, transactional, in the same Kafka transaction. ``progress`` is called with a
    :class:`Progress` after each chunk; without one, a bar is drawn on stderr when it is a TTY.
    ``rank`` names this process in multi-rank publishes (its transactional id ends in it).
    """

    def __init__(self, bootstrap_servers, model_id, topic_prefix="weightpub",
                 bucket_size=_layout.DEFAULT_BUCKET_SIZE, chunk_size=_layout.DEFAULT_CHUNK_SIZE,
                 transactional=False, producer_config=None, progress=None, signing_key=None, rank=0):
        if _KAFKA_MISSING is not None:
            raise ImportError("weightpub.Publisher needs confluent_kafka (Debian: python3-confluent-kafka): "
                              + str(_KAFKA_MISSING))
        if not model_id or not str(model_id).strip():
            raise LayoutError("model id %r must be non-blank" % (model_id,))
        _layout.check_sizes(bucket_size, chunk_size)
        self.bootstrap_servers = bootstrap_servers
        self.model_id = model_id
        self.topics = topic_names(topic_prefix)
        self.bucket_size = bucket_size
        self.chunk_size = chunk_size
        self.transactional = transactional
        self.rank = rank
        self.signing_key = signing_key
        if progress is None and sys.stderr.isatty():
            progress = TerminalBar(sys.stderr)
        self._progress = progress
        self._user_config = dict(producer_config or {})
        self._producer = None
        self._producer_timeout_s = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------------
    # Producer

    def producer_config(self, transaction_timeout_s=None):
        """The effective librdkafka configuration (the user's plus the publisher's own)."""
        message_max = max(LIBRDKAFKA_DEFAULT_MESSAGE_MAX_BYTES, self.chunk_size + RECORD_OVERHEAD_BYTES)
        config = {
            "client.id": "weightpub-python",
            "message.max.bytes": message_max,
            # One chunk per batch at most, as Java's default batch.size gives: stays under the topic's limit.
            "batch.size": message_max,
            "linger.ms": 5,
        }
        config.update(self._user_config)
        config["bootstrap.servers"] = self.bootstrap_servers
        config["enable.idempotence"] = True
        config["acks"] = "all"
        # Chunks name their partition (chunk_partition); manifests keep Java's keyed placement.
        config["partitioner"] = "murmur2_random"
        if self.transactional:
            config.setdefault("transactional.id", "weightpub-python-%s-rank%d" % (self.model_id, self.rank))
            if transaction_timeout_s is not None:
                config["transaction.timeout.ms"] = int(transaction_timeout_s * 1000)
        return config

    def _transaction_timeout_s(self, total_bytes):
        if "transaction.timeout.ms" in self._user_config:
            return None
        seconds = -(-total_bytes // TRANSACTION_MIN_THROUGHPUT) + TRANSACTION_MARGIN_S
        return max(KAFKA_DEFAULT_TRANSACTION_TIMEOUT_S, seconds)

    def _ensure_producer(self, total_bytes):
        timeout = self._transaction_timeout_s(total_bytes) if self.transactional else None
        if self._producer is not None and timeout is not None and timeout > self._producer_timeout_s:
            # The timeout is registered by init_transactions: a longer one needs a new producer.
            self._producer.flush(30)
            self._producer = None
        if self._producer is None:
            producer = Producer(self.producer_config(timeout))
            if self.transactional:
                producer.init_transactions(60)
            self._producer = producer
            self._producer_timeout_s = timeout
        return self._producer

    def _discard_producer(self, error):
        producer, self._producer = self._producer, None
        if producer is None:
            return
        if self.transactional:
            try:
                producer.abort_transaction(30)
            except KafkaException as e:
                error.__context__ = e
        producer.purge()
        producer.flush(0)

    def close(self):
        with self._lock:
            if self._producer is not None:
                self._producer.flush(30)
                self._producer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------------------------------
    # Publishing

    def publish(self, named_tensors, step):
        """Publishes one version: every chunk, then the manifest. Returns a :class:`PublishResult`
        once the manifest is acknowledged (transactional: the transaction committed)."""
        pairs = _tensors.named_tensors(named_tensors)
        layout = _layout.plan([_tensors.meta(n, t) for n, t in pairs], self.bucket_size, self.chunk_size)
        publish_id = str(uuid.uuid4())
        with self._lock:
            return self._run(layout, dict(pairs), step, publish_id, range(len(layout.buckets)), {}, True)

    def plan(self, metas_by_rank):
        """The multi-rank layout (see :func:`weightpub.layout.plan_ranks`) with this publisher's sizes."""
        return _layout.plan_ranks(metas_by_rank, self.bucket_size, self.chunk_size)

    def publish_shard(self, named_tensors, step, publish_id, layout):
        """Sends this rank's buckets of a multi-rank publish (its own transaction when transactional).

        Every rank passes the same ``publish_id`` and ``layout`` (from :meth:`plan`); the chunks
        carry global bucket indices and offsets. Returns a :class:`ShardResult` for the rank that
        sends the manifest, after every rank's share was committed (the caller's barrier).
        """
        first, end = layout.rank_buckets.get(self.rank, (0, 0))
        pairs = _tensors.named_tensors(named_tensors)
        expected = [s.meta for b in layout.buckets[first:end] for s in b.slots]
        given = [_tensors.meta(n, t) for n, t in pairs]
        if sorted(given) != sorted(expected):
            raise LayoutError("rank %d was given tensors %s but its buckets [%d, %d) hold %s"
                              % (self.rank, [m.name for m in given], first, end, [m.name for m in expected]))
        with self._lock:
            result = self._run(layout, dict(pairs), step, publish_id, range(first, end), {}, False)
        return ShardResult(self.rank, publish_id, result.bucket_sha256)

    def publish_manifest(self, step, publish_id, layout, shard_results):
        """Sends the manifest of a multi-rank publish, once every rank's share committed."""
        digests = {}
        for share in shard_results:
            if share.publish_id != publish_id:
                raise LayoutError("share of rank %d is of publish %s, not %s" % (share.rank, share.publish_id,
                                                                                 publish_id))
            digests.update(share.bucket_sha256)
        missing = [b.index for b in layout.buckets if b.index not in digests]
        if missing:
            raise PublishError("no rank reported buckets %s" % missing, self.model_id, step, publish_id)
        with self._lock:
            return self._run(layout, {}, step, publish_id, (), digests, True)

    def _run(self, layout, tensors, step, publish_id, buckets, digests, send_manifest):
        if step < 0:
            raise LayoutError("step of model %s must not be negative, was %d" % (self.model_id, step))
        started = time.monotonic()
        producer = self._ensure_producer(layout.total_bytes)
        state = _SendState()
        sent = _Counter(layout, self.model_id, step, publish_id, started, self._progress)
        digests = dict(digests)
        try:
            if self.transactional:
                producer.begin_transaction()
            bucket = chunk = None
            placement = _Placement(publish_id, self._partitions(producer, self.topics["chunks"]), layout)
            for bucket, chunk, record, size in ChunkEncoder(self.model_id, step, publish_id, layout, tensors,
                                                              buckets, digests):
                state.raise_if_failed()
                self._produce(producer, self.topics["chunks"], chunk_key(self.model_id, publish_id, bucket),
                              record, state.callback(size, bucket, chunk), placement.partition(bucket, chunk))
                sent.chunk(size, state.acked)
                while sent.bytes - state.acked > MAX_IN_FLIGHT_BYTES and state.failure is None:
                    producer.poll(0.005)
            bucket = chunk = None
            manifest = None
            if send_manifest:
                if not self.transactional:
                    # The manifest must not overtake a chunk that could still fail.
                    self._flush(producer)
                    state.raise_if_failed()
                manifest = self._manifest(layout, step, publish_id, digests)
                self._produce(producer, self.topics["manifests"], self.model_id.encode("utf-8"),
                              wire.MANIFEST.encode(manifest), state.callback(0))
            if self.transactional:
                producer.commit_transaction(self._producer_timeout_s or 60)
            self._flush(producer)
            state.raise_if_failed()
        except (KafkaException, BufferError, _DeliveryFailed) as e:
            if isinstance(e, _DeliveryFailed):
                bucket, chunk = e.bucket, e.chunk
            error = PublishError(("transaction aborted: " if self.transactional else "manifest not sent: ") + str(e),
                                 self.model_id, step, publish_id, bucket, chunk)
            self._discard_producer(error)
            raise error from e
        except TensorError as e:
            error = PublishError(str(e), self.model_id, step, publish_id)
            self._discard_producer(error)
            raise error from e
        sent.done(state.acked)
        return PublishResult(publish_id, step, layout.total_bytes, sent.chunks, digests, manifest,
                             time.monotonic() - started)

    def _partitions(self, producer, topic):
        # As long as a record may wait for delivery, so an unreachable broker fails this as it would a send.
        timeout_s = int(self._user_config.get("message.timeout.ms", 60000)) / 1000.0
        try:
            described = producer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        except KafkaException as e:
            raise KafkaException("cannot read the partitions of topic %s: %s" % (topic, e)) from e
        if described is None or described.error is not None or not described.partitions:
            raise KafkaException("cannot read the partitions of topic %s: %s"
                                 % (topic, described.error if described else "not found"))
        return len(described.partitions)

    @staticmethod
    def _produce(producer, topic, key, value, callback, partition=None):
        extra = {} if partition is None else {"partition": partition}
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=callback, **extra)
                break
            except BufferError:  # local queue full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)

    @staticmethod
    def _flush(producer):
        remaining = producer.flush(300)
        if remaining:
            raise _DeliveryFailed("%d records not acknowledged within 300 s" % remaining)

    def _manifest(self, layout, step, publish_id, digests):
        return build_manifest(self.model_id, layout, step, publish_id, digests, int(time.time() * 1000),
                              self.signing_key)


class _DeliveryFailed(Exception):
    """A record the broker did not take; names its bucket and chunk (None for the manifest)."""

    def __init__(self, message, bucket=None, chunk=None):
        super().__init__(message)
        self.bucket = bucket
        self.chunk = chunk


def chunk_partition(publish_id, partitions, seq):
    """The partition of chunk ``seq`` of a version (counted over all buckets in bucket order, then
    chunk order), as Java's ``ChunkPartitions``: round robin from a start that CRC32C of the publish
    id picks, so every partition gets a version's records give or take one however few buckets it has
    (parallel readers of the job all get work), and ranks of one publish agree without talking."""
    if partitions < 1:
        raise ValueError("a chunks topic has at least one partition, got %d" % partitions)
    start = _crc.crc32c(publish_id.encode("utf-8")) % partitions
    return (start + seq) % partitions


class _Placement:
    """Chunk sequence numbers of a layout's buckets, for :func:`chunk_partition`."""

    def __init__(self, publish_id, partitions, layout):
        self._publish_id = publish_id
        self._partitions = partitions
        self._first = {}
        seq = 0
        for b in sorted(layout.buckets, key=lambda b: b.index):
            self._first[b.index] = seq
            seq += b.chunk_count

    def partition(self, bucket, chunk):
        return chunk_partition(self._publish_id, self._partitions, self._first[bucket] + chunk)


class _SendState:
    """Delivery reports: the first failure, and the bytes acknowledged."""

    def __init__(self):
        self.failure = None
        self.failed_at = (None, None)
        self.acked = 0

    def callback(self, size, bucket=None, chunk=None):
        def on_delivery(err, msg):
            if err is not None:
                if self.failure is None:
                    self.failure = err
                    self.failed_at = (bucket, chunk)
            else:
                self.acked += size
        return on_delivery

    def raise_if_failed(self):
        if self.failure is not None:
            raise _DeliveryFailed(str(self.failure), *self.failed_at)


class _Counter:
    def __init__(self, layout, model_id, step, publish_id, started, listener):
        self.layout = layout
        self.model_id, self.step, self.publish_id = model_id, step, publish_id
        self.started = started
        self.listener = listener
        self.bytes = 0
        self.chunks = 0

    def chunk(self, size, acked):
        self.bytes += size
        self.chunks += 1
        self._report(acked)

    def done(self, acked):
        self._report(acked)
        if hasattr(self.listener, "close"):
            self.listener.close()

    def _report(self, acked):
        if self.listener is not None:
            self.listener(Progress(self.model_id, self.step, self.publish_id, self.bytes, acked,
                                   self.layout.total_bytes, self.chunks, self.layout.chunk_total,
                                   time.monotonic() - self.started))
