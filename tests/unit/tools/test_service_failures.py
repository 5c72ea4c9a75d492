"""A service that cannot start is reported once, as one paragraph with its log, and its tests are errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CONFTEST = """
from pathlib import Path

import pytest

from tests.support.services import pytest_runtest_makereport, starting  # noqa: F401

LOG = Path(__file__).parent / "emulator.log"


@pytest.fixture(scope="session")
def emulator():
    last = "ERROR: the runtime exited unexpectedly: 'X509' object has no attribute 'add_extensions'"
    LOG.write_text("booting\\n" * 50 + last + "\\n")
    with starting("The emulator", LOG):
        raise RuntimeError("emulator exited with 1:\\n" + "  File \\"crypto.py\\", line 119\\n" * 20)
"""

TESTS = "".join(f"\ndef test_{n}(emulator):\n    pass\n" for n in range(22))


def test_a_service_that_cannot_start_is_reported_once_and_its_tests_are_errors(tmp_path: Path) -> None:
    # Given a tier of 22 tests whose session fixture cannot start its service
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_tier.py").write_text(TESTS)

    # When pytest runs it
    command = [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider", "-q", "-rN"]
    env = {**{k: v for k, v in os.environ.items() if k != "CI"}, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*command, "--rootdir", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)

    # Then the cause, with the log's path, appears once; every test is an error (not a skip)
    out = done.stdout
    assert done.returncode == 1, out
    assert out.count("What it said last: ERROR: the runtime exited unexpectedly") == 1, out
    assert out.count(f"Its log: {tmp_path / 'emulator.log'}") == 1, out
    assert out.count("The emulator could not start: RuntimeError: emulator exited with 1:") == 22, out
    assert out.count("(as reported for the first test that needed it)") == 21, out
    assert 'File "crypto.py"' not in out
    assert out.strip().splitlines()[-1].startswith("22 errors")
