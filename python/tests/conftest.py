import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import javaside  # noqa: E402


class Cluster:
    """Kafka, the publishing job and its workers, run by PythonTestHarness cluster."""

    def __init__(self, workers=2):
        self.process = subprocess.Popen(javaside.command("cluster", workers), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_tail = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.bootstrap = None
        self.workers = []
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if line.startswith("BOOTSTRAP "):
                self.bootstrap = line.split()[1]
            elif line.startswith("WORKER "):
                self.workers.append(line.split()[2].rstrip("/"))
            elif line.startswith("READY"):
                break
        if self.bootstrap is None or len(self.workers) != workers:
            self.stop()
            raise AssertionError("cluster did not start:\n" + "".join(self.stderr_tail[-60:]))

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_tail.append(line)
            del self.stderr_tail[:-200]

    def get(self, worker, path):
        """(status, JSON body) of a reference worker's endpoint."""
        try:
            with urllib.request.urlopen(self.workers[worker] + path, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def version_digest(self, worker, model):
        return self.get(worker, "/models/%s/sha256" % urllib.parse.quote(model, safe=""))

    def await_active(self, model, version, timeout=120):
        """Waits until every worker serves ``version`` of ``model``; returns their /sha256 replies."""
        deadline = time.monotonic() + timeout
        replies = []
        for worker in range(len(self.workers)):
            while True:
                status, body = self.version_digest(worker, model)
                if status == 200 and body["version"] >= version:
                    replies.append(body)
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("worker %d did not activate version %d of %s: %s %s; status %s"
                                         % (worker, version, model, status, body, self.get(worker, "/status")))
                time.sleep(0.1)
        return replies

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def cluster():
    if javaside.classpath() is None:
        pytest.skip(javaside.MISSING)
    c = Cluster(workers=2)
    yield c
    c.stop()
