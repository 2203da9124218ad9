"""The listening sockets of `decide serve --workers N` (decide/supervisor.py)."""

from __future__ import annotations

import errno
import socket

import pytest

from decide.supervisor import balances_connections, listening_sockets

pytestmark = pytest.mark.skipif(not balances_connections(), reason="SO_REUSEPORT: Linux")


def test_every_worker_listens_on_the_port_the_first_one_got() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 3, backlog=16)
    try:
        assert len({s.getsockname() for s in sockets}) == 1
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
    finally:
        for s in sockets:
            s.close()


def test_a_port_held_by_another_server_is_refused_even_one_with_so_reuseport() -> None:
    theirs = listening_sockets("127.0.0.1", 0, 1, backlog=16)[0]  # another decide serve
    try:
        with pytest.raises(OSError) as refused:
            listening_sockets("127.0.0.1", theirs.getsockname()[1], 2, backlog=16)
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        theirs.close()


@pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="no IPv6 here")
def test_all_interfaces_of_ipv6_also_accept_ipv4_as_uvicorn_does() -> None:
    sockets = listening_sockets("::", 0, 2, backlog=16)
    try:
        with socket.create_connection(("127.0.0.1", sockets[0].getsockname()[1]), timeout=5):
            pass
    finally:
        for s in sockets:
            s.close()
