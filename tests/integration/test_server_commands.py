"""Server and connection commands through redis-py: CLIENT, INFO, CONFIG,
TIME, DBSIZE, ECHO and PING, checked against what Redis 7.0 replies."""

import time

import pytest
import redis


def test_ping_and_echo_answer(r, srv):
    assert r.ping() is True
    assert r.echo("hello world") == "hello world"
    with srv.conn() as c:
        assert c.cmd("PING") == "PONG"
        assert c.cmd("PING", "msg") == b"msg"
        assert c.cmd("ECHO", "") == b""


def test_dbsize_counts_keys_of_the_current_database(r, shared):
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.dbsize() == 3
    assert shared.get().client(db=1).dbsize() == 0


def test_time_returns_the_current_unix_time_with_microseconds(r):
    secs, usecs = r.time()
    assert abs(secs + usecs / 1e6 - time.time()) < 2
    assert 0 <= usecs < 1000000


def test_client_setname_getname_and_id(r):
    assert r.client_getname() is None
    assert r.client_setname("worker-1") is True
    assert r.client_getname() == "worker-1"
    cid = r.client_id()
    assert isinstance(cid, int) and cid > 0
    with pytest.raises(redis.ResponseError) as e:
        r.client_setname("has space")
    assert str(e.value) == "Client names cannot contain spaces, newlines or special characters."


def test_client_ids_are_unique_and_increasing(shared):
    srv = shared.get()
    a, b = srv.client(), srv.client()
    ida, idb = a.client_id(), b.client_id()
    assert idb > ida


def test_client_list_shows_every_connection_with_its_name_and_db(r, shared):
    other = shared.get().client(db=3, decode_responses=True)
    other.client_setname("other-conn")
    r.client_setname("me")
    clients = r.client_list()
    by_name = {c["name"]: c for c in clients}
    assert "me" in by_name and "other-conn" in by_name
    assert by_name["other-conn"]["db"] == "3"
    assert by_name["me"]["id"] == str(r.client_id())
    assert by_name["me"]["cmd"] == "client|list"
    assert by_name["me"]["addr"].startswith("127.0.0.1:")
    for field in ("laddr", "fd", "age", "idle", "flags", "qbuf", "omem", "resp"):
        assert field in by_name["me"]


def test_client_info_describes_the_calling_connection(r):
    r.client_setname("info-me")
    info = r.client_info()
    assert info["name"] == "info-me"
    assert str(info["id"]) == str(r.client_id())
    assert str(info["db"]) == "0"
    assert str(info["resp"]).strip() == "2"  # redis-py 4.3 keeps the newline


def test_client_kill_by_id_and_by_addr_closes_that_connection_only(r, srv):
    victim = srv.conn()
    victim_id = victim.cmd("CLIENT", "ID")
    bystander = srv.conn()
    assert r.client_kill_filter(_id=victim_id) == 1
    assert victim.read_until_close(timeout=5) == b""
    victim.close()
    assert bystander.cmd("PING") == "PONG"

    victim2 = srv.conn()
    assert victim2.cmd("PING") == "PONG"
    host, port = victim2.sock.getsockname()
    assert r.client_kill("%s:%d" % (host, port)) is True
    assert victim2.read_until_close(timeout=5) == b""
    victim2.close()
    with pytest.raises(redis.ResponseError) as e:
        r.client_kill("127.0.0.1:1")
    assert str(e.value) == "No such client"
    assert bystander.cmd("PING") == "PONG"
    bystander.close()


def test_info_server_section_parses_and_describes_this_process(r, shared):
    srv = shared.get()
    info = r.info("server")
    assert "redis_version" in info
    assert str(info["redis_version"]).startswith("7.")
    assert info["tcp_port"] == srv.port
    assert info["process_id"] == srv.pid
    assert info["uptime_in_seconds"] >= 0
    assert "clients" not in info and "used_memory" not in info


def test_info_clients_counts_connected_clients(r, shared):
    before = r.info("clients")["connected_clients"]
    extra = [shared.get().client() for _ in range(3)]
    for c in extra:
        c.ping()
    assert r.info("clients")["connected_clients"] == before + 3
    for c in extra:
        c.close()


def test_info_memory_reports_used_memory_and_rss(r):
    info = r.info("memory")
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert isinstance(info["used_memory_rss"], int) and info["used_memory_rss"] > 0
    assert "used_memory_peak" in info
    assert "maxmemory" in info


def test_info_stats_counts_commands_connections_hits_and_misses(r):
    s0 = r.info("stats")
    r.set("k", "v")
    r.get("k")
    r.get("k")
    r.get("missing")
    s1 = r.info("stats")
    assert s1["total_commands_processed"] >= s0["total_commands_processed"] + 5
    assert s1["keyspace_hits"] == s0["keyspace_hits"] + 2
    assert s1["keyspace_misses"] == s0["keyspace_misses"] + 1
    assert s1["total_connections_received"] >= 1


def test_info_keyspace_reports_keys_and_expires_per_database(r, shared):
    r.mset({"a": 1, "b": 2, "c": 3})
    r.expire("a", 100)
    shared.get().client(db=2).set("x", 1)
    ks = r.info("keyspace")
    assert ks["db0"]["keys"] == 3
    assert ks["db0"]["expires"] == 1
    assert ks["db2"]["keys"] == 1
    assert ks["db2"]["expires"] == 0
    assert "db1" not in ks


def test_info_without_argument_has_the_default_sections(r):
    info = r.info()
    for field in ("redis_version", "connected_clients", "used_memory",
                  "total_commands_processed"):
        assert field in info
    with_all = r.info("all")
    assert "redis_version" in with_all


def test_config_get_and_set_timeout_and_maxclients(r):
    assert r.config_get("timeout") == {"timeout": "0"}
    assert r.config_set("timeout", 300) is True
    assert r.config_get("timeout") == {"timeout": "300"}
    assert r.config_set("timeout", 0) is True
    old = r.config_get("maxclients")["maxclients"]
    assert r.config_set("maxclients", 5000) is True
    assert r.config_get("maxclients") == {"maxclients": "5000"}
    r.config_set("maxclients", old)


def test_config_get_supports_glob_patterns_and_unknown_names(r):
    got = r.config_get("maxclient*")
    assert got == {"maxclients": got["maxclients"]}
    assert r.config_get("no-such-option") == {}
    both = r.execute_command("CONFIG", "GET", "timeout", "databases")
    assert len(both) == 4
    assert dict(zip(both[::2], both[1::2])) == {"timeout": "0", "databases": "16"}


def test_config_set_rejects_invalid_values_and_unknown_options(r):
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("timeout", "abc")
    assert str(e.value) == ("CONFIG SET failed (possibly related to argument "
                            "'timeout') - argument couldn't be parsed into an integer")
    assert r.config_get("timeout") == {"timeout": "0"}
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("no-such-option", "1")
    assert str(e.value) == ("Unknown option or number of arguments for CONFIG SET "
                            "- 'no-such-option'")
    with pytest.raises(redis.ResponseError) as e:
        r.config_set("databases", "8")
    assert str(e.value) == ("CONFIG SET failed (possibly related to argument "
                            "'databases') - can't set immutable config")


def _docs_args(conn, name):
    """The "arguments" of COMMAND DOCS name, as a list of dicts."""
    reply = conn.cmd("COMMAND", "DOCS", name)
    docs = dict(zip(reply[1][0::2], reply[1][1::2]))

    def conv(args):
        out = []
        for a in args:
            d = dict(zip(a[0::2], a[1::2]))
            if b"arguments" in d:
                d[b"arguments"] = conv(d[b"arguments"])
            out.append(d)
        return out
    return conv(docs[b"arguments"])


def test_command_docs_describe_arguments_the_way_redis_cli_needs_for_hints(srv):
    with srv.conn() as c:
        args = _docs_args(c, "set")
        assert [a[b"name"] for a in args] == [b"key", b"value", b"condition", b"get",
                                              b"expiration"]
        assert args[0][b"type"] == b"key" and args[0][b"key_spec_index"] == 0
        assert args[2][b"type"] == b"oneof" and args[2][b"flags"] == ["optional"]
        assert [x[b"token"] for x in args[2][b"arguments"]] == [b"NX", b"XX"]
        assert (args[3][b"type"], args[3][b"token"], args[3][b"flags"]) == (
            b"pure-token", b"GET", ["optional"])
        assert [x[b"token"] for x in args[4][b"arguments"]] == [
            b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL"]
        mget = _docs_args(c, "mget")
        assert mget[0][b"flags"] == ["multiple"]

