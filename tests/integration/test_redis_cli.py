"""redis-cli against the server: one-shot commands, --pipe mass insertion,
RESP3 with -3, and INFO."""

import re
import subprocess

from conftest import encode_command, redis_cli_binary


def cli(port, *args, stdin=None, timeout=60):
    p = subprocess.run([redis_cli_binary(), "-h", "127.0.0.1", "-p", str(port)] +
                       [str(a) for a in args], input=stdin, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def test_redis_cli_set_and_get(srv):
    rc, out, _ = cli(srv.port, "set", "k", "v")
    assert rc == 0 and out == "OK\n"
    rc, out, _ = cli(srv.port, "get", "k")
    assert rc == 0 and out == "v\n"
    rc, out, _ = cli(srv.port, "--no-raw", "get", "missing")
    assert rc == 0 and out == "(nil)\n"


def test_redis_cli_shows_error_replies(srv):
    rc, out, _ = cli(srv.port, "--no-raw", "incr", "nonint", )
    assert out == "(integer) 1\n"
    cli(srv.port, "set", "s", "text")
    rc, out, _ = cli(srv.port, "--no-raw", "incr", "s")
    assert out == "(error) ERR value is not an integer or out of range\n"


def test_redis_cli_pipe_mass_inserts_100k_keys(srv):
    n = 100000
    data = b"".join(encode_command("SET", "key:%d" % i, "value:%d" % i) for i in range(n))
    rc, out, err = cli(srv.port, "--pipe", stdin=data, timeout=60)
    assert rc == 0, err
    assert re.search(r"errors: 0, replies: %d" % n, out), out
    rc, out, _ = cli(srv.port, "dbsize")
    assert out == "%d\n" % n
    rc, out, _ = cli(srv.port, "get", "key:%d" % (n - 1))
    assert out == "value:%d\n" % (n - 1)


def test_redis_cli_resp3_hello_reports_protocol_3(srv):
    rc, out, err = cli(srv.port, "-3", "--no-raw", "hello", "3")
    assert rc == 0, err
    assert re.search(r'"proto" => \(integer\) 3', out), out
    assert re.search(r'"server" => "', out), out
    rc, out, _ = cli(srv.port, "-3", "--no-raw", "get", "missing")
    assert out == "(nil)\n"


def test_redis_cli_info_server_contains_redis_version(srv):
    rc, out, _ = cli(srv.port, "info", "server")
    assert rc == 0
    assert out.startswith("# Server")
    assert re.search(r"^redis_version:7\.\d+\.\d+\r?$", out, re.M), out
    assert re.search(r"^tcp_port:%d\r?$" % srv.port, out, re.M), out
