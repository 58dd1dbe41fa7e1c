"""Process lifecycle: SHUTDOWN and signals, port conflicts, daemonizing with a
pid file, the log file, config files and option errors, idle timeouts and
maxclients. Each test starts and owns its own server."""

import os
import re
import signal
import socket
import time

import pytest
import redis

from conftest import (REPO, RespConn, pid_alive, sluice_only, spawn, wait_accepting,
                      wait_for, USE_REDIS)

SHUTDOWN_RE = re.compile(r"shut(ting)?\s*down", re.I)


def test_shutdown_command_stops_the_server_with_exit_code_0(start_server):
    s = start_server()
    c = s.client()
    c.set("k", "v")
    c.shutdown()
    assert s.wait_exit(10) == 0
    assert not wait_accepting(s.port, timeout=0.5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly_and_logs_the_shutdown(start_server, sig):
    s = start_server()
    with s.conn() as c:
        assert c.cmd("PING") == "PONG"
        s.signal(sig)
        assert s.wait_exit(10) == 0
    assert SHUTDOWN_RE.search(s.output()), s.describe()


def test_signal_stops_the_server_while_clients_are_connected_and_busy(start_server):
    s = start_server()
    conns = [s.conn() for _ in range(20)]
    for c in conns:
        c.send(b"PING\r\n" * 100)
    s.signal(signal.SIGTERM)
    assert s.wait_exit(10) == 0
    for c in conns:
        c.close()


def test_second_server_on_the_same_port_fails_and_says_the_address_is_in_use(start_server):
    first = start_server()
    second = start_server(port=first.port, wait=False)
    rc = second.wait_exit(10)
    assert rc != 0
    out = second.output()
    assert re.search(r"in use", out, re.I), second.describe()
    assert str(first.port) in out, second.describe()
    # The first one is unaffected.
    assert first.client().ping() is True


def test_daemonize_writes_the_pidfile_and_the_daemon_serves(start_server, tmp_path):
    pidfile = tmp_path / "server.pid"
    s = start_server("--daemonize", "yes", "--pidfile", str(pidfile), wait=False)
    # The launcher exits once the daemon is on its own.
    assert s.wait_exit(10) == 0, s.describe()
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 10,
             what="pid file")
    pid = int(pidfile.read_text().strip())
    s.extra_pids.append(pid)
    assert pid != s.pid
    assert pid_alive(pid)
    assert wait_accepting(s.port), "daemon does not answer on port %d" % s.port
    info = s.client().info("server")
    assert info["process_id"] == pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), 10, what="daemon to exit")
    assert not pidfile.exists(), "pid file left behind after a clean shutdown"


def test_logfile_option_sends_the_log_to_that_file(start_server, tmp_path):
    logfile = tmp_path / "server.log"
    s = start_server("--logfile", str(logfile))
    assert logfile.exists()
    s.signal(signal.SIGTERM)
    assert s.wait_exit(10) == 0
    text = logfile.read_text(errors="replace")
    assert SHUTDOWN_RE.search(text), text
    assert not SHUTDOWN_RE.search(s.output()), "log lines also went to stdout"


def test_config_file_given_first_sets_port_and_databases(start_server):
    s = start_server(config_text="port {port}\nbind 127.0.0.1\ndatabases 4\n",
                     port_on_cmdline=False)
    c = s.client(decode_responses=True)
    assert c.config_get("databases") == {"databases": "4"}
    assert c.execute_command("SELECT", "3") is True
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("SELECT", "4")
    assert str(e.value) == "DB index is out of range"


def test_command_line_options_override_the_config_file(start_server):
    s = start_server("--databases", "2", "--timeout", "77",
                     config_text="databases 4\ntimeout 10\n# a comment\n\n")
    c = s.client(decode_responses=True)
    assert c.config_get("databases") == {"databases": "2"}
    assert c.config_get("timeout") == {"timeout": "77"}


def test_config_file_accepts_memory_units_and_quoted_values(start_server):
    s = start_server(config_text='proto-max-bulk-len 2mb\nlogfile ""\n'
                                 'client-query-buffer-limit 1gb\n')
    c = s.client(decode_responses=True)
    assert c.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(2 * 1024 * 1024)}
    assert c.config_get("client-query-buffer-limit") == \
        {"client-query-buffer-limit": str(1024 ** 3)}


def test_config_file_comments_may_contain_quotes_and_be_indented(start_server):
    s = start_server(config_text="# the appliance's config, \"quoted\"\n"
                                 "   # an indented comment with ' in it\n"
                                 "\n"
                                 "databases 5\n")
    c = s.client(decode_responses=True)
    assert c.config_get("databases") == {"databases": "5"}


@sluice_only
def test_default_firmware_config_file_starts_a_working_server(start_server):
    conf = REPO / "firmware-cfg" / "sluice.conf"
    assert conf.exists(), "firmware-cfg/sluice.conf is missing"
    s = start_server(config_text=conf.read_text())
    assert s.client().ping() is True


def _expect_start_failure(start_server, *args, **kw):
    s = start_server(*args, wait=False, **kw)
    rc = s.wait_exit(10)
    assert rc != 0, s.describe()
    return s.output()


def test_unknown_option_in_config_file_fails_to_start_naming_the_option(start_server):
    out = _expect_start_failure(start_server, config_text="port {port}\nno-such-option 1\n",
                                port_on_cmdline=False)
    assert "no-such-option" in out, out


def test_unknown_option_on_command_line_fails_to_start_naming_the_option(start_server):
    out = _expect_start_failure(start_server, "--no-such-option", "1")
    assert "no-such-option" in out, out


def test_bad_option_value_fails_to_start_naming_the_option(start_server):
    out = _expect_start_failure(start_server, "--databases", "lots")
    assert "databases" in out, out
    out = _expect_start_failure(start_server, "--maxclients", "0")
    assert "maxclients" in out, out


def test_missing_config_file_fails_to_start(start_server, tmp_path):
    s = spawn([str(tmp_path / "nonexistent.conf")], wait=False)
    try:
        assert s.wait_exit(10) != 0
        assert "nonexistent.conf" in s.output(), s.describe()
    finally:
        s.kill()


def test_idle_connection_is_closed_after_config_set_timeout(start_server):
    s = start_server()
    s.client().config_set("timeout", 1)
    with s.conn() as idle, s.conn() as busy:
        assert idle.cmd("PING") == "PONG"
        t0 = time.monotonic()
        closed_at = []
        deadline = t0 + 4
        idle.sock.settimeout(0.2)
        while time.monotonic() < deadline and not closed_at:
            # The busy connection keeps talking and must survive.
            assert busy.cmd("PING") == "PONG"
            try:
                data = idle.sock.recv(100)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            assert data == b"", "unexpected data %r" % data
            closed_at.append(time.monotonic() - t0)
        assert closed_at, "idle connection still open after 4 s with timeout 1"
        assert 0.9 <= closed_at[0] <= 3.0, closed_at
        assert busy.cmd("PING") == "PONG"


def test_maxclients_refuses_the_eleventh_client_with_redis_error(start_server):
    s = start_server("--maxclients", "10")
    first = s.conn()
    assert first.cmd("PING") == "PONG"
    # Wait until the readiness probe's connection is gone.
    wait_for(lambda: first.cmd("CLIENT", "LIST").count(b"\n") == 1, 5,
             what="only one client left")
    conns = [first] + [s.conn() for _ in range(9)]
    for c in conns:
        assert c.cmd("PING") == "PONG"
    with s.conn() as eleventh:
        eleventh.send(b"PING\r\n")
        got = eleventh.read_until_close(timeout=5)
        assert got == b"-ERR max number of clients reached\r\n"
    # A freed slot can be used again.
    conns.pop().close()

    def can_connect():
        with s.conn() as c:
            try:
                return c.cmd("PING") == "PONG"
            except (ConnectionError, OSError):
                return False

    wait_for(can_connect, 5, interval=0.1, what="a slot to free up")
    for c in conns:
        assert c.cmd("PING") == "PONG"
        c.close()
    info = s.client().info("stats")
    assert info["rejected_connections"] >= 1
