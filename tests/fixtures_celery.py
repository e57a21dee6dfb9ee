"""A real Celery worker process, for the tests that prove jobs survive real workers.

The worker runs ``celery -A onco_hdf worker`` on the Redis broker named by
CELERY_BROKER_URL, against the same PostgreSQL test database as the test (so the test
must use ``django_db(transaction=True)``), on a queue of its own so parallel runs never
steal each other's tasks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest
from django.db import connection

from onco_hdf.celery import app as celery_app
from tests.requirements import REPO_ROOT, need_binary, need_postgres, need_redis, port_open


class WorkerProcess:
    def __init__(self, env: dict, queue: str, log_path, name: str = "") -> None:
        self.env, self.queue, self.log_path = env, queue, log_path
        self.name = name or queue  # a second worker on the queue needs a name of its own
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's life)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "onco_hdf",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--pool=prefork",
                "-Q",
                self.queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{self.name}@%h",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_until(
            lambda: b"ready." in self.log_path.read_bytes()[offset:], 60, "worker ready"
        )

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def kill_child(self) -> int:
        """SIGKILL the pool process running the task (the main process restarts one)."""
        children = self.children()
        assert children, "the worker has no pool process"
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def kill_all(self) -> None:
        """SIGKILL the whole worker (main process and pool): nothing gives the message back."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        group = ["pgrep", "-g", str(self.process.pid)]
        deadline = time.monotonic() + 10
        while subprocess.run(group, capture_output=True, check=False).stdout:
            assert time.monotonic() < deadline, "worker processes survived SIGKILL"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited while waiting for {what}:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()[-4000:]}")


class RedisServer:
    """A redis-server of the test's own, on its own port, that the test may stop and restart."""

    def __init__(self, port: int, log_path) -> None:
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert not port_open("127.0.0.1", self.port), f"port {self.port} is already taken"
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's life)
        self.process = subprocess.Popen(
            [need_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", self.port):
            assert time.monotonic() < deadline, self.log_path.read_text(errors="replace")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _worker_env(settings, broker: str) -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DB_CONN_MAX_AGE": "0",
        # Frequent heartbeats, so a test may call a job stale after a few seconds.
        "JOB_HEARTBEAT_SECONDS": "0.5",
    }


def _reset_producers() -> None:
    """Forget the pooled broker connections (the broker URL changed)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def _worker_on(settings, tmp_path, broker: str):
    queue = f"onco-test-{uuid.uuid4().hex[:8]}"
    env = {**_worker_env(settings, broker), "CELERY_QUEUE": queue}  # what a task sends too
    worker = WorkerProcess(env, queue, tmp_path / "worker.log")
    conf = celery_app.conf
    # broker_url itself would lose to the CELERY_BROKER_URL environment variable.
    previous = (conf.task_always_eager, conf.task_default_queue, conf.get("broker_write_url"))
    conf.task_always_eager = False
    conf.task_default_queue = queue
    if broker != conf.broker_write_url:
        conf.broker_write_url = broker
        _reset_producers()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        with contextlib.suppress(Exception), celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
        if conf.broker_write_url != (previous[2] or conf.broker_url):
            _reset_producers()
        conf.task_always_eager, conf.task_default_queue, conf.broker_write_url = previous


@pytest.fixture
def celery_worker(transactional_db, tmp_path, settings):
    """Start a worker; while the test runs, tasks go to it instead of running in-process."""
    need_postgres()
    broker = need_redis()
    with _worker_on(settings, tmp_path, broker) as worker:
        yield worker


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own (port 6390 + a few), never the shared one."""
    need_binary("redis-server")
    port = next((p for p in range(6390, 6400) if not port_open("127.0.0.1", p)), None)
    if port is None:
        pytest.skip("no free port for a private Redis")
    server = RedisServer(port, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def celery_worker_own_redis(transactional_db, tmp_path, settings, own_redis):
    """A worker whose broker is the test's own Redis (``worker.redis``), which it may stop."""
    need_postgres()
    with _worker_on(settings, tmp_path, own_redis.url) as worker:
        worker.redis = own_redis
        yield worker
