"""The Airflow tier's virtual environment: Airflow 3 and the Amazon provider, pinned, on Python 3.12.

    python3 -m tools.services.airflow_env     # create it unless it exists; print its python (make airflow-venv)

Standard library only, so `make airflow-venv` runs with any python3 and in parallel with `make venv`.

Airflow does not belong in .venv (its hundred-odd pinned dependencies would fight the project's),
so it gets an environment of its own under ~/.cache/kafka-producers/, named by a hash of
orchestration/airflow/requirements.txt and constraints.txt: a change of pins makes a new one, and
the stamp file `.installed` is written only once pip has finished, so an interrupted install is
redone. Python 3.12 is found as for the build (lambda_build/bytecode.py: PYTHON312, pyenv, PATH).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "orchestration" / "airflow"
FILES = (SPEC / "requirements.txt", SPEC / "constraints.txt")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kafka-producers"


def location() -> Path:
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in FILES)).hexdigest()[:12]
    return CACHE / f"airflow-venv-{digest}"


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure() -> Path:
    """The environment's python, creating the environment first when it has no stamp."""
    venv = location()
    stamp = venv / ".installed"
    if stamp.exists():
        return python_of(venv)
    from lambda_build.bytecode import python312

    interpreter = python312()
    if interpreter is None:
        raise RuntimeError("airflow_env: no CPython 3.12 found (set PYTHON312, or install it with pyenv or on PATH)")
    started = time.monotonic()
    print(f"airflow_env: creating {venv} (Airflow and the Amazon provider, about 2 minutes)", file=sys.stderr)
    subprocess.run([interpreter, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(FILES[0]), "-c", str(FILES[1])], check=True)
    stamp.write_text(f"{time.monotonic() - started:.0f} s\n")
    print(f"airflow_env: ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return python_of(venv)


if __name__ == "__main__":
    try:
        print(ensure())
    except (RuntimeError, subprocess.CalledProcessError) as error:
        sys.exit(f"airflow_env: {error}")
