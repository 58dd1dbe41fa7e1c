"""Crash-safety tests: options and the run summary.

  --server redis|sluice   the server under test (default: sluice when
                          $SLUICED is set, else crashkit.DEFAULT_SERVER)

Each test adds lines to the summary printed at the end of the run (cycles,
losses, times), so that a passing run still tells what it measured.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from . import crashkit

_summary = []
_servers = []  # every server the current test made


def _kill_servers():
    while _servers:
        _servers.pop().kill()


def pytest_addoption(parser):
    parser.addoption("--server", choices=("redis", "sluice"), default=None,
                     help="server under test for tests/crash")


def pytest_configure(config):
    crashkit.SERVER["kind"] = config.getoption("--server")


def pytest_report_header(config):
    return "crash tests against %s (%s)" % (crashkit.server_kind(), crashkit.server_binary())


def pytest_terminal_summary(terminalreporter):
    if _summary:
        terminalreporter.section("crash summary")
        for line in _summary:
            terminalreporter.write_line(line)


@pytest.fixture
def summary():
    return _summary.append


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.crash_failed = rep.failed


@pytest.fixture
def workdir(request):
    """A temp directory for the test's data and logs, removed afterwards
    unless the test failed (then its path is printed, for a post-mortem)."""
    path = tempfile.mkdtemp(prefix="sluice-crash-")
    yield path
    if getattr(request.node, "crash_failed", False):
        print("\nkept for inspection: %s" % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def servers():
    """Factory for crashkit.Server objects, all killed at teardown."""
    def make(*args, **kw):
        s = crashkit.Server(*args, **kw)
        _servers.append(s)
        return s

    yield make
    _kill_servers()


@pytest.fixture
def powerfs(workdir):
    """Factory: powerfs(name, journal=False) mounts a powerfs whose backing,
    mount point and state directories are under the work directory. Every
    mount is unmounted at teardown (after the servers, which are set up
    later and torn down first)."""
    if not crashkit.fuse_usable():
        pytest.skip("FUSE is not usable here (no /dev/fuse or fusermount3)")
    binary = crashkit.powerfs_binary(workdir)
    if binary is None:
        pytest.skip("powerfs cannot be built (libfuse3-dev is not installed)")
    mounts = []

    def make(name="fs", journal=False):
        base = os.path.join(workdir, name)
        fs = crashkit.PowerFS(binary, os.path.join(base, "backing"), os.path.join(base, "mnt"),
                              os.path.join(base, "state"), journal=journal)
        mounts.append(fs)
        return fs.mount()

    yield make
    _kill_servers()  # a server still running would keep the mount busy
    for fs in mounts:
        fs.unmount()


@pytest.fixture
def small_tmpfs(workdir):
    """A 2 MiB tmpfs mounted under the work directory (needs root),
    unmounted at teardown after the servers are killed."""
    mnt = os.path.join(workdir, "tmpfs")
    os.makedirs(mnt)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.strip())
    yield mnt
    _kill_servers()
    if subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
