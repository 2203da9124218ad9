"""A Redis Cluster of a few masters on 127.0.0.1, from the same valkey-server binary: the tests and
load tests run decide against it to prove every script and pipeline is cluster-safe."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.crc import key_slot

from decide.store.connection import CLUSTER_SCHEME
from decide.store.embedded import _preexec, valkey_binary

SLOTS = 16384


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalCluster:
    """`masters` valkey-servers with cluster mode on, the hash slots split evenly between them.

    No replicas and no persistence: it is a test bed for slot routing, not for durability.
    """

    def __init__(self, data_dir: Path, *, masters: int = 3, binary: str | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary or valkey_binary()
        self.masters = masters
        self.ports: list[int] = []
        self.bus_ports: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Any one node seeds the client; it learns the others from CLUSTER SLOTS."""
        return f"{CLUSTER_SCHEME}://127.0.0.1:{self.ports[0]}"

    def nodes(self) -> list[redis.Redis]:
        return [redis.Redis(port=port, socket_timeout=5) for port in self.ports]

    def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.masters):
            port, bus = _free_port(), _free_port()
            self.ports.append(port)
            self.bus_ports.append(bus)
            self._processes.append(self._spawn(port, bus))
        try:
            self._wait(lambda: all(self._ping(node) for node in self.nodes()), timeout)
            self._assign_and_meet()
            self._wait(self._healthy, timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, port: int, bus: int) -> subprocess.Popen[bytes]:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(exist_ok=True)
        command = [
            self.binary, "--port", str(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-port", str(bus),
            "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
            "--dir", str(node_dir), "--appendonly", "no", "--save", "",
            "--daemonize", "no", "--logfile", str(node_dir / "server.log"),
        ]  # fmt: skip
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_preexec(),  # the nodes die with the tests or load test that started them
        )

    def _assign_and_meet(self) -> None:
        """What `valkey-cli --cluster create` does (the wheel ships no valkey-cli)."""
        nodes = self.nodes()
        share = SLOTS // self.masters
        for i, node in enumerate(nodes):
            first, last = i * share, (SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1)
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for port, bus in zip(self.ports[1:], self.bus_ports[1:], strict=True):
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)

    def _healthy(self) -> bool:
        for node in self.nodes():
            info = node.execute_command("CLUSTER", "INFO").decode()
            fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(
                self.masters
            ):
                return False
        return True

    def _wait(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.binary} exited at start:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"the cluster was not ready within {timeout}s:\n{self.log_tail()}")

    @staticmethod
    def _ping(node: redis.Redis) -> bool:
        try:
            return bool(node.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def master_of(self, key: str) -> int:
        """Which master (index into `ports`) serves `key`, by the even split of the slots."""
        return min(key_slot(key.encode()) // (SLOTS // self.masters), self.masters - 1)

    def kill(self, master: int) -> None:
        """Abrupt death of one master (tests of partial outages)."""
        process = self._processes[master]
        if process.poll() is None:
            process.kill()
            process.wait()

    def flush(self) -> None:
        for node in self.nodes():
            node.flushall()

    def stop(self, timeout: float = 10.0) -> None:
        processes, self._processes = self._processes, []
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self, lines: int = 10) -> str:
        tails = []
        for port in self.ports:
            log = self.data_dir / str(port) / "server.log"
            text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
            tails.append(f"--- {port}\n" + "\n".join(text))
        return "\n".join(tails)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
