"""Loading the append-only file at start, against redis-server 7.0 as the
oracle.

* A redis-server with appendonly yes and appendfsync always writes data of
  every type and encoding (several dbs, TTLs, a transaction, commands Redis
  rewrites for the AOF such as SPOP and INCRBYFLOAT), with an AOF rewrite
  in the middle so the base file holds data, with and without the RDB
  preamble. sluiced started with --appendonly yes on a copy of that dir
  holds the same data: same DEBUG DIGEST, same type, value and expiry time
  key by key (four workers: keys routed to their shards).
* dump.rdb is not read when appendonly is on.
* A pre-7.0 single appendonly.aof in dir is moved into the directory as
  the base and loaded.
* Damage: a truncated last file loads (and is cut on disk) with
  aof-load-truncated yes and refuses with Redis's message with no; a
  transaction without EXEC at the end is reverted; garbage in the middle,
  a bad manifest, a manifest naming a missing file, an unknown command and
  a truncated file that is not the last refuse to start with exit code 1
  (not a signal) and a log naming the file. redis-server, given the same
  directory, agrees on start or refusal.
"""

import os
import shutil
import tempfile

import pytest
import redis
from conftest import USE_REDIS, encode_command, wait_for
from test_persistence import RedisOracle, digest, dump, oracle_fixture, populate, tmpdir_  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(USE_REDIS, reason="compares sluiced with redis-server")

FOUR = ("--dataplane-cores", "0,1,0,1")
DEBUG = ("--enable-debug-command", "yes")
AOF_DIR = "appendonlydir"


oracle = oracle_fixture("--appendonly", "yes", "--appendfsync", "always")


def sluiced(start_server, workdir, *extra, **kw):
    return start_server("--dir", workdir, "--appendonly", "yes", "--save", "", *DEBUG, *FOUR,
                        *extra, **kw)


def refuses(start_server, workdir, *extra):
    s = sluiced(start_server, workdir, *extra, wait=False)
    code = s.wait_exit(20)
    return s, code


def stop_oracle(o):
    try:
        o.client().shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    o.proc.wait(10)


def oracle_code(workdir, *extra):
    """redis-server's verdict on a directory: 'up' or its exit code."""
    try:
        o = RedisOracle(workdir, "--appendonly", "yes", *extra)
    except AssertionError:
        return "exit"
    stop_oracle(o)
    return "up"


def rewrite_and_wait(c):
    c.bgrewriteaof()
    wait_for(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0
             and c.info("persistence")["aof_rewrite_scheduled"] == 0, 30,
             what="the AOF rewrite")


def more_writes(c):
    """Commands Redis logs in a rewritten form, a transaction, deletes."""
    c.set("counter", 10)
    c.incrby("counter", 5)
    c.incrbyfloat("fl", 1.5)          # logged as SET ... KEEPTTL
    c.sadd("popme", *range(20))
    c.spop("popme", 3)                # logged as SREM
    c.rpush("lpopme", *"abcdef")
    c.lpop("lpopme", 2)
    c.append("str", " world")
    c.setrange("str", 0, "J")
    c.hincrbyfloat("hlp", "fl", 2.25)
    c.zincrby("zlp", 3, "a")
    c.set("gone", "x")
    c.delete("gone")
    c.set("exp_rel", "v", ex=4000)     # logged as SET ... PXAT
    c.expire("str", 9000)              # logged as PEXPIREAT
    c.persist("ttl_str")
    p = c.pipeline(transaction=True)
    p.incr("counter")
    p.lpush("list", "txn")
    p.hset("htxn", "a", "1")
    p.execute()
    c.execute_command("SELECT", 5)
    c.rpush("db5list", *range(200))
    c.execute_command("SELECT", 0)
    c.set("str_embstr", "short")
    c.set("str_raw", "r" * 100)


def build_redis_aof(oracle, tmpdir_, preamble):
    src = os.path.join(tmpdir_, "redis")
    os.makedirs(src)
    o = oracle(src, "--aof-use-rdb-preamble", "yes" if preamble else "no")
    c = o.client()
    populate(c)
    rewrite_and_wait(c)
    more_writes(c)
    want_digest = digest(c)
    want = dump(c)
    stop_oracle(o)
    return src, want_digest, want


def strip_enc(d):
    return {k: v[:3] for k, v in d.items()}


@pytest.mark.parametrize("preamble", [True, False], ids=["rdb-preamble", "aof-base"])
def test_sluiced_loads_redis_aof(start_server, oracle, tmpdir_, preamble):
    src, want_digest, want = build_redis_aof(oracle, tmpdir_, preamble)
    files = sorted(os.listdir(os.path.join(src, AOF_DIR)))
    base = [f for f in files if ".base." in f]
    assert base and base[0].endswith(".rdb" if preamble else ".aof"), files
    assert os.path.getsize(os.path.join(src, AOF_DIR, base[0])) > 1000, "the base holds data"
    d = os.path.join(tmpdir_, "copy")
    shutil.copytree(src, d)
    # A dump.rdb next to it is ignored while appendonly is on.
    with open(os.path.join(d, "dump.rdb"), "wb") as f:
        f.write(b"not an rdb at all")
    s = sluiced(start_server, d)
    c = s.client()
    assert len(want) > 30 and want_digest != "0" * 40
    assert digest(c) == want_digest
    got = dump(c)
    assert strip_enc(got) == strip_enc(want)
    assert got == want, "same encodings"
    ttl = c.pttl("exp_rel")
    assert 3_900_000 < ttl <= 4_000_000
    out = s.output()
    assert "DB loaded from append only file" in out, out
    if preamble:
        assert "Reading RDB base file on AOF loading" in out


def write_aof_dir(d, files, manifest=None):
    """files: [(name, type, bytes)] in manifest order."""
    a = os.path.join(d, AOF_DIR)
    os.makedirs(a, exist_ok=True)
    lines = []
    for seq, (name, typ, data) in enumerate(files, 1):
        if data is not None:
            with open(os.path.join(a, name), "wb") as f:
                f.write(data)
        lines.append("file %s seq %d type %s\n" % (name, seq, typ))
    with open(os.path.join(a, "appendonly.aof.manifest"), "w") as f:
        f.write(manifest if manifest is not None else "".join(lines))
    return a


def cmds(*commands):
    return b"".join(encode_command(*c) for c in commands)


GOOD = cmds(("SELECT", "0"), ("SET", "a", "1"), ("RPUSH", "l", "x", "y"),
            ("SELECT", "3"), ("SADD", "s", "1", "2"))


def test_truncated_last_file_loads_and_is_cut_when_allowed(start_server, tmpdir_):
    a = write_aof_dir(tmpdir_, [("appendonly.aof.1.base.aof", "b", b""),
                                ("appendonly.aof.1.incr.aof", "i", GOOD + b"*3\r\n$3\r\nSET\r\n$1")])
    s = sluiced(start_server, tmpdir_, "--aof-load-truncated", "yes")
    c = s.client()
    assert c.get("a") == b"1"
    assert c.lrange("l", 0, -1) == [b"x", b"y"]
    c.execute_command("SELECT", 3)
    assert c.smembers("s") == {b"1", b"2"}
    assert os.path.getsize(os.path.join(a, "appendonly.aof.1.incr.aof")) == len(GOOD)
    out = s.output()
    assert "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset %d !!!" % len(GOOD) in out
    assert "loaded anyway because aof-load-truncated is enabled" in out


def test_truncated_last_file_refuses_when_not_allowed(start_server, tmpdir_):
    data = GOOD + b"*3\r\n$3\r\nSET\r\n$1"
    a = write_aof_dir(tmpdir_, [("appendonly.aof.1.incr.aof", "i", data)])
    s, code = refuses(start_server, tmpdir_, "--aof-load-truncated", "no")
    assert code == 1, s.describe()
    out = s.output()
    assert ("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
            in out), out
    assert os.path.getsize(os.path.join(a, "appendonly.aof.1.incr.aof")) == len(data)
    assert oracle_code(tmpdir_, "--aof-load-truncated", "no") == "exit"


def test_transaction_without_exec_at_the_end_is_reverted(start_server, tmpdir_):
    tail = cmds(("MULTI",), ("SET", "a", "2"), ("INCR", "n"))
    a = write_aof_dir(tmpdir_, [("appendonly.aof.1.incr.aof", "i", GOOD + tail)])
    s = sluiced(start_server, tmpdir_)
    c = s.client()
    assert c.get("a") == b"1" and c.get("n") is None
    assert "Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof" \
        in s.output()
    assert os.path.getsize(os.path.join(a, "appendonly.aof.1.incr.aof")) == len(GOOD)


def test_command_errors_are_ignored_and_counted(start_server, tmpdir_):
    data = cmds(("SET", "s", "abc"), ("INCR", "s"), ("SET", "b", "2"), ("LPUSH", "s", "x"),
                ("GET", "b"), ("SELECT", "99"), ("SET", "c", "3"))
    write_aof_dir(tmpdir_, [("appendonly.aof.1.incr.aof", "i", data)])
    s = sluiced(start_server, tmpdir_)
    c = s.client()
    assert c.get("s") == b"abc" and c.get("b") == b"2" and c.get("c") == b"3"
    out = s.output()
    assert "AOF loading: 3 commands replied an error" in out, out


def refuse_case(start_server, tmpdir_, files, manifest=None, ask_oracle=True):
    write_aof_dir(tmpdir_, files, manifest)
    s, code = refuses(start_server, tmpdir_)
    assert code == 1, "exit code %r (negative: a signal)\n%s" % (code, s.describe())
    if ask_oracle:
        assert oracle_code(tmpdir_) == "exit", "redis-server refuses it too"
    return s.output()


def test_garbage_in_the_middle_refuses(start_server, tmpdir_):
    data = GOOD + b"garbage\r\n" + GOOD
    out = refuse_case(start_server, tmpdir_, [("appendonly.aof.1.incr.aof", "i", data)])
    assert "Bad file format reading the append only file appendonly.aof.1.incr.aof" in out
    assert "offset %d" % len(GOOD) in out, out


def test_bad_manifest_refuses(start_server, tmpdir_):
    out = refuse_case(start_server, tmpdir_, [("appendonly.aof.1.incr.aof", "i", GOOD)],
                      "file appendonly.aof.1.incr.aof seq 1\n")
    assert "FATAL AOF MANIFEST FILE ERROR" in out
    assert "appendonly.aof.manifest: Invalid AOF manifest file format (line 1" in out, out


def test_manifest_naming_a_missing_file_refuses(start_server, tmpdir_):
    out = refuse_case(start_server, tmpdir_, [("appendonly.aof.1.base.aof", "b", GOOD),
                                              ("appendonly.aof.1.incr.aof", "i", None)])
    assert "Unable to obtain the AOF file appendonly.aof.1.incr.aof length" in out, out


def test_unknown_command_refuses(start_server, tmpdir_):
    data = GOOD + cmds(("NOSUCHCMD", "x")) + GOOD
    out = refuse_case(start_server, tmpdir_, [("appendonly.aof.1.incr.aof", "i", data)])
    assert ("Unknown command 'NOSUCHCMD' reading the append only file "
            "appendonly.aof.1.incr.aof") in out, out
    assert "offset %d" % len(GOOD) in out


def test_truncated_file_that_is_not_the_last_refuses(start_server, tmpdir_):
    cut = GOOD + b"*2\r\n$3\r\nDEL"
    out = refuse_case(start_server, tmpdir_, [("appendonly.aof.1.base.aof", "b", cut),
                                              ("appendonly.aof.1.incr.aof", "i", GOOD)],
                      ask_oracle=False)
    assert "appendonly.aof.1.base.aof" in out
    assert "Fatal error: the truncated file is not the last file" in out, out
    with open(os.path.join(tmpdir_, AOF_DIR, "appendonly.aof.1.base.aof"), "rb") as f:
        assert f.read() == cut, "a file that is not the last is left as it is"
    # redis-server refuses too (after cutting that file, which we do not do).
    assert oracle_code(tmpdir_) == "exit"


def test_empty_files_and_no_aof_start_empty(start_server, tmpdir_):
    write_aof_dir(tmpdir_, [("appendonly.aof.1.base.aof", "b", b""),
                            ("appendonly.aof.1.incr.aof", "i", b"")])
    s = sluiced(start_server, tmpdir_)
    assert s.client().dbsize() == 0
    s.kill()
    empty = os.path.join(tmpdir_, "none")
    os.makedirs(empty)
    s = sluiced(start_server, empty)
    assert s.client().dbsize() == 0


def test_old_single_file_is_moved_into_the_directory(start_server, oracle, tmpdir_):
    with open(os.path.join(tmpdir_, "appendonly.aof"), "wb") as f:
        f.write(GOOD)
    s = sluiced(start_server, tmpdir_)
    c = s.client()
    assert c.get("a") == b"1"
    assert not os.path.exists(os.path.join(tmpdir_, "appendonly.aof"))
    with open(os.path.join(tmpdir_, AOF_DIR, "appendonly.aof"), "rb") as f:
        assert f.read() == GOOD
    with open(os.path.join(tmpdir_, AOF_DIR, "appendonly.aof.manifest")) as f:
        # As redis-server 7.0 leaves it: the old file as the base, and the
        # first incr file opened at start.
        assert f.read() == ("file appendonly.aof seq 1 type b\n"
                            "file appendonly.aof.1.incr.aof seq 1 type i\n")
    assert "Successfully migrated an old-style AOF file (appendonly.aof)" in s.output()
    # redis-server does the same with a copy of the old layout.
    d = os.path.join(tmpdir_, "redis")
    os.makedirs(d)
    with open(os.path.join(d, "appendonly.aof"), "wb") as f:
        f.write(GOOD)
    o = oracle(d)
    assert o.client().get("a") == b"1"
    stop_oracle(o)
    with open(os.path.join(d, AOF_DIR, "appendonly.aof.manifest")) as f:
        assert f.read().startswith("file appendonly.aof seq 1 type b\n")
