"""sluiced explains itself when io_uring is not available (a seccomp profile
refusing io_uring_setup, as container runtimes' defaults do)."""
import os
import subprocess
import tempfile

from conftest import sluice_only

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLUICED = os.environ.get("SLUICED", os.path.join(ROOT, "build", "dataplane", "sluiced"))


@sluice_only
def test_without_io_uring_sluiced_exits_with_a_message_saying_how_to_fix_it():
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "no_uring")
        subprocess.run(["cc", "-O1", "-o", wrapper,
                        os.path.join(ROOT, "tests", "integration", "no_uring.c")], check=True)
        p = subprocess.run([wrapper, SLUICED, "--port", "7498", "--bind", "127.0.0.1"],
                           capture_output=True, text=True, timeout=20)
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "io_uring is not available" in out
    assert "kernel.io_uring_disabled" in out
    assert "seccomp" in out
