"""powerfs itself: what survives a cut is exactly what was made durable.

File data becomes durable with fsync/fdatasync of the file; names (create,
rename, unlink, mkdir) with fsync of the directory that holds them; with
`journal`, any fsync also commits every name change so far.
"""
import os
import signal
import time

import pytest


def write(path, data, sync=False, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_unsynced_write_is_gone_after_a_cut(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, b"hello")
    fsync_dir(fs.mnt)  # the name is durable, the data is not
    write(os.path.join(fs.mnt, "never"), b"x", sync=True)  # data durable, name not
    assert read(p) == b"hello"
    fs.cut()
    assert read(p) == b""
    assert not os.path.exists(os.path.join(fs.mnt, "never"))


def test_synced_write_survives_a_cut_and_a_remount(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, b"hello", sync=True)
    fsync_dir(fs.mnt)
    write(p, b" world", flags=os.O_WRONLY | os.O_APPEND)  # not synced
    assert read(p) == b"hello world"
    fs.cut()
    assert read(p) == b"hello"
    fs.remount()
    assert read(p) == b"hello"
    assert read(os.path.join(fs.backing, "f")) == b"hello"


def test_fdatasync_counts_as_fsync(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, b"a" * 1000)
    os.fdatasync(fd)
    os.write(fd, b"b" * 1000)
    os.close(fd)
    fsync_dir(fs.mnt)
    fs.cut()
    assert read(p) == b"a" * 1000


def test_rename_without_directory_fsync_reverts_to_the_old_name(powerfs):
    fs = powerfs()
    old, new = os.path.join(fs.mnt, "old"), os.path.join(fs.mnt, "new")
    write(old, b"content", sync=True)
    fsync_dir(fs.mnt)
    os.rename(old, new)
    fs.cut()
    assert os.listdir(fs.mnt) == ["old"]
    assert read(old) == b"content"

    os.rename(old, new)
    fsync_dir(fs.mnt)
    fs.cut()
    assert os.listdir(fs.mnt) == ["new"]
    assert read(new) == b"content"


def test_rename_over_a_file_then_cut_brings_back_the_replaced_file(powerfs):
    fs = powerfs()
    target, tmp = os.path.join(fs.mnt, "manifest"), os.path.join(fs.mnt, "manifest.tmp")
    write(target, b"v1", sync=True)
    fsync_dir(fs.mnt)
    write(tmp, b"v2", sync=True)
    os.rename(tmp, target)  # the temp-file-and-rename idiom, minus the directory fsync
    assert read(target) == b"v2"
    fs.cut()
    assert sorted(os.listdir(fs.mnt)) == ["manifest"]
    assert read(target) == b"v1"


def test_unlink_without_directory_fsync_is_undone(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, b"keep", sync=True)
    fsync_dir(fs.mnt)
    os.unlink(p)
    fs.cut()
    assert read(p) == b"keep"
    os.unlink(p)
    fsync_dir(fs.mnt)
    fs.cut()
    assert not os.path.exists(p)


def test_a_new_directory_needs_its_parent_fsynced(powerfs):
    fs = powerfs()
    d = os.path.join(fs.mnt, "d")
    os.mkdir(d)
    write(os.path.join(d, "f"), b"x", sync=True)
    fsync_dir(d)
    fs.cut()
    assert not os.path.exists(d)  # the root was never fsynced
    os.mkdir(d)
    write(os.path.join(d, "f"), b"x", sync=True)
    fsync_dir(d)
    fsync_dir(fs.mnt)
    fs.cut()
    assert read(os.path.join(d, "f")) == b"x"


def test_journal_mode_commits_names_with_any_fsync(powerfs):
    fs = powerfs(journal=True)
    os.mkdir(os.path.join(fs.mnt, "d"))
    p = os.path.join(fs.mnt, "d", "f")
    write(p, b"data", sync=True)  # one fsync: the journal commit carries the names
    write(os.path.join(fs.mnt, "later"), b"x")  # after the commit: not durable
    fs.cut()
    assert read(p) == b"data"
    assert not os.path.exists(os.path.join(fs.mnt, "later"))


def test_truncate_then_write_then_fsync_is_exact(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, bytes(range(100)), sync=True)
    fsync_dir(fs.mnt)
    fd = os.open(p, os.O_RDWR)
    os.ftruncate(fd, 10)
    os.pwrite(fd, b"ZZ", 50)
    os.fsync(fd)
    os.pwrite(fd, b"lost", 0)
    os.close(fd)
    fs.cut()
    assert read(p) == bytes(range(10)) + b"\0" * 40 + b"ZZ"


def test_tear_keeps_a_prefix_of_unsynced_appends(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, b"D" * 100, sync=True)
    fsync_dir(fs.mnt)
    lengths = set()
    for seed in range(1, 9):
        write(p, b"a" * 1000, flags=os.O_WRONLY | os.O_APPEND)
        fs.tear(seed)
        data = read(p)
        assert data[:100] == b"D" * 100 and data[100:] == b"a" * (len(data) - 100)
        lengths.add(len(data))
        # what the tear kept is now durable: drop back to 100 bytes for the next round
        fd = os.open(p, os.O_WRONLY)
        os.ftruncate(fd, 100)
        os.fsync(fd)
        os.close(fd)
    assert len(lengths) > 2  # the kept prefix varies with the seed


def test_clean_unmount_keeps_everything(powerfs):
    fs = powerfs()
    write(os.path.join(fs.mnt, "f"), b"unsynced")
    fs.remount()
    assert read(os.path.join(fs.mnt, "f")) == b"unsynced"


def test_sync_command_makes_everything_durable(powerfs):
    fs = powerfs()
    os.mkdir(os.path.join(fs.mnt, "d"))
    write(os.path.join(fs.mnt, "d", "f"), b"x")
    fs.sync()
    fs.cut()
    assert read(os.path.join(fs.mnt, "d", "f")) == b"x"


def test_sigusr1_cuts_and_stale_handles_fail(powerfs):
    fs = powerfs()
    p = os.path.join(fs.mnt, "f")
    write(p, b"d", sync=True)
    fsync_dir(fs.mnt)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"volatile")
    before = fs.counters()["cuts"]
    os.kill(fs.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while fs.counters()["cuts"] == before:
        assert time.monotonic() < deadline, "SIGUSR1 did not cut"
        time.sleep(0.01)
    assert read(p) == b"d"
    with pytest.raises(OSError):
        os.write(fd, b"after the cut")
    os.close(fd)
