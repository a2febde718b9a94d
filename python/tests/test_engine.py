"""The engine client (weightpub.engine) against a small fake worker speaking docs/engine-protocol.md."""

import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from weightpub.engine import (DigestMismatch, EngineClient, LeaseRevoked, Version, WeightGate,  # noqa: E402
                              numpy_arrays)

np = pytest.importorskip("numpy")


def _send(sock, message):
    body = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def _recv(sock):
    header = b""
    while len(header) < 4:
        part = sock.recv(4 - len(header))
        if not part:
            return None
        header += part
    (n,) = struct.unpack(">I", header)
    body = b""
    while len(body) < n:
        body += sock.recv(n - len(body))
    return json.loads(body)


class FakeWorker:
    """Accepts one engine, answers its subscription, then sends what the test queues; records requests."""

    def __init__(self, path):
        self.path = str(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.requests = []
        self.conn = None
        self.subscribed = threading.Event()
        self.got = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.conn, _ = self.server.accept()
        while True:
            message = _recv(self.conn)
            if message is None:
                return
            with self.got:
                self.requests.append(message)
                self.got.notify_all()
            if message["type"] == "subscribe":
                _send(self.conn, {"type": "subscribed", "model": message["model"], "worker": 0,
                                  "engine": message["engine"], "leaseTimeoutMs": 5000})
                self.subscribed.set()

    def send(self, message):
        self.subscribed.wait(5)
        _send(self.conn, message)

    def await_request(self, kind, timeout=5):
        with self.got:
            assert self.got.wait_for(lambda: any(r["type"] == kind for r in self.requests), timeout), self.requests
            return [r for r in self.requests if r["type"] == kind]

    def close(self):
        if self.conn and self.conn.fileno() >= 0:
            # shutdown first: close alone waits for the serving thread's recv, and the engine sees no end.
            self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()
        self.server.close()


def _version_message(tmp_path, number, tensors, corrupt=False, content_version=None):
    """Lays ``tensors`` (name -> numpy array) out as a host slot file, one bucket per tensor."""
    data = bytearray()
    table, buckets = [], []
    for index, (name, array) in enumerate(tensors.items()):
        raw = array.tobytes()
        table.append({"name": name, "dtype": {"float32": "F32", "int64": "I64"}[array.dtype.name],
                      "shape": list(array.shape), "offset": len(data), "size": len(raw)})
        buckets.append({"index": index, "offset": len(data), "size": len(raw),
                        "sha256": hashlib.sha256(raw).hexdigest()})
        data += raw
    if corrupt:
        data[0] ^= 0xFF
    path = tmp_path / ("slot-%d" % number)
    path.write_bytes(bytes(data))
    return {"type": "version", "model": "m", "version": number,
            "contentVersion": number if content_version is None else content_version, "step": number * 10,
            "publishId": "p%d" % number, "sizeBytes": len(data), "worker": 0, "mode": "copy",
            "leaseTimeoutMs": 5000, "memory": {"kind": "host", "path": str(path), "offset": 0, "size": len(data)},
            "digest": "sha256", "tensors": table, "buckets": buckets}


@pytest.fixture
def worker(tmp_path):
    w = FakeWorker(tmp_path / "w.sock")
    yield w
    w.close()


def _tensors(seed):
    rng = np.random.default_rng(seed)
    return {"a.weight": rng.standard_normal((4, 3)).astype(np.float32), "b.bias": np.arange(5, dtype=np.int64) + seed}


def test_client_maps_a_host_version_checks_its_digests_and_acknowledges_applied(worker, tmp_path):
    expected = _tensors(1)
    with EngineClient(worker.path, "m", engine="e0") as client:
        worker.send(_version_message(tmp_path, 1, expected))
        seen = {}
        applied = client.poll(lambda v: seen.update({k: a.copy() for k, a in numpy_arrays(v).items()}), timeout=5)
        assert (applied.version, applied.content_version, applied.step) == (1, 1, 10)
        for name, array in expected.items():
            np.testing.assert_array_equal(seen[name], array)
        ack = worker.await_request("applied")[0]
        assert (ack["model"], ack["version"]) == ("m", 1) and ack["ms"] >= 0
    subscribe = worker.requests[0]
    assert subscribe == {"type": "subscribe", "model": "m", "engine": "e0", "mode": "copy"}


def test_a_version_whose_bytes_do_not_match_its_manifest_is_acknowledged_failed_and_not_applied(worker, tmp_path):
    calls = []
    with EngineClient(worker.path, "m", engine="e0") as client:
        worker.send(_version_message(tmp_path, 1, _tensors(1), corrupt=True))
        with pytest.raises(DigestMismatch, match="bucket 0"):
            client.poll(calls.append, timeout=5)
        failed = worker.await_request("failed")[0]
    assert calls == [] and failed["version"] == 1 and "DigestMismatch" in failed["message"]


def test_the_newest_of_several_offers_is_applied_and_the_older_ones_are_released(worker, tmp_path):
    with EngineClient(worker.path, "m", engine="e0") as client:
        for number in (1, 2, 3):
            worker.send(_version_message(tmp_path, number, _tensors(number), content_version=1 if number == 3 else None))
        worker.await_request("subscribe")
        first = client.next_version(timeout=5)
        client.release(first)
        time.sleep(0.2)  # versions 2 and 3 are on the wire
        applied = client.poll(lambda v: None, timeout=5)
        assert (applied.version, applied.content_version) == (3, 1)
        assert worker.await_request("applied")[0]["version"] == 3
        assert [r["version"] for r in worker.await_request("release")] == [1, 2]


def test_a_lease_revoked_while_the_version_is_copied_fails_the_apply(worker, tmp_path):
    with EngineClient(worker.path, "m", engine="e0") as client:
        worker.send(_version_message(tmp_path, 1, _tensors(1)))
        version = client.next_version(timeout=5)

        def slow_copy(v):
            worker.send({"type": "revoked", "model": "m", "version": 1, "reason": "held longer than 5 s"})
            time.sleep(0.2)

        with pytest.raises(LeaseRevoked, match="held longer"):
            client.apply(version, slow_copy)
        assert worker.await_request("failed")[0]["version"] == 1
        assert not [r for r in worker.requests if r["type"] == "applied"]


def test_numpy_arrays_view_the_shared_memory_without_copying(tmp_path):
    message = _version_message(tmp_path, 1, {"x": np.zeros(4, dtype=np.float32)})
    with Version(message) as version:
        x = numpy_arrays(version)["x"]
        with open(message["memory"]["path"], "r+b") as f:
            f.write(np.float32(7).tobytes())
        assert x[0] == 7 and not x.flags.writeable
        del x


def test_a_tensor_outside_every_bucket_fails_verification(tmp_path):
    message = _version_message(tmp_path, 1, _tensors(1))
    message["buckets"] = message["buckets"][:1]
    with Version(message) as version, pytest.raises(DigestMismatch, match="b.bias .* lies in no bucket"):
        version.verify()


def test_a_forward_pass_never_sees_an_update_half_done():
    gate = WeightGate(version=1)
    weights = {"a": 1, "b": 1}
    mixed = []
    stop = threading.Event()

    def forward():
        while not stop.is_set():
            with gate.forward() as version:
                if weights["a"] != weights["b"] or weights["a"] != version:
                    mixed.append((version, dict(weights)))

    readers = [threading.Thread(target=forward) for _ in range(3)]
    for r in readers:
        r.start()
    for number in range(2, 200):
        def write(n=number):
            weights["a"] = n
            weights["b"] = n
        gate.update(number, write)
    stop.set()
    for r in readers:
        r.join()
    assert mixed == [] and gate.version == 199


def test_the_follower_command_checks_each_version_and_acknowledges_it(worker, tmp_path, capsys):
    from weightpub.engine.__main__ import main

    worker.send_later = threading.Thread(target=lambda: worker.send(_version_message(tmp_path, 1, _tensors(1))))
    worker.send_later.start()
    assert main(["--socket", worker.path, "--model", "m", "--engine", "f", "--versions", "1"]) == 0
    assert worker.await_request("applied")[0]["version"] == 1
    assert "engine f (worker 0): applied version 1 (content 1, step 10): 2 tensors" in capsys.readouterr().out


def test_tree_digests_are_checked_leaf_by_leaf_as_the_manifest_declares(tmp_path):
    from weightpub.digest import tree_digest

    leaf = 64 << 10
    data = np.arange(100_000, dtype=np.float32)
    message = _version_message(tmp_path, 1, {"w": data})
    message.update(digest="sha256-tree", leafSize=leaf)
    message["buckets"][0]["sha256"] = tree_digest(data.tobytes(), leaf).hex()
    with Version(message) as version:
        version.verify()
    message["buckets"][0]["sha256"] = hashlib.sha256(data.tobytes()).hexdigest()
    with Version(message) as version, pytest.raises(DigestMismatch, match="bucket 0"):
        version.verify()


def test_a_worker_that_restarts_is_subscribed_to_again_and_the_leases_of_the_old_connection_are_dropped(tmp_path):
    path = tmp_path / "w.sock"
    first = FakeWorker(path)
    client = EngineClient(first.path, "m", engine="e0", connect_timeout=5)
    first.send(_version_message(tmp_path, 1, _tensors(1)))
    held = client.next_version(timeout=5)
    first.close()
    os.unlink(path)
    second = FakeWorker(path)
    threading.Thread(target=lambda: second.send(_version_message(tmp_path, 2, _tensors(2)))).start()
    offered = client.next_version(timeout=5)
    assert offered is not None and offered.version == 2 and client.reconnects == 1
    assert held.stale and "closed the connection" in held.revoked
    client.applied(held, 1.0)  # its lease went with the old connection: nothing to acknowledge
    client.applied(offered, 1.0)
    assert [r["version"] for r in second.await_request("applied")] == [2]
    assert [r["type"] for r in second.requests] == ["subscribe", "applied"]
    client.close()
    second.close()


def test_without_reconnect_a_worker_that_goes_away_ends_the_client(worker, tmp_path):
    client = EngineClient(worker.path, "m", engine="e0", reconnect=False)
    worker.await_request("subscribe")
    worker.close()
    with pytest.raises(EOFError):
        client.next_version(timeout=5)
    client.close()
