"""Bytecode for Lambda's python3.12, compiled at build time and shipped with the code.

Lambda's /var/task and /opt are read-only, so an interpreter that finds no bytecode there compiles
every module it imports from source, on every cold start, and cannot keep the result. Shipping it
halves a handler's cold import (`make bench ONLY=C`). The .pyc files are unchecked-hash ones: the
artifact never changes after the build, and an unzipped file's modification time is not one a
timestamp .pyc could rely on.

    python lambda_build/bytecode.py DIR...        compile every .py under each DIR for CPython 3.12
    python lambda_build/bytecode.py --which       print the python3.12 interpreter this machine has

PYTHON312 names the interpreter; otherwise pyenv's versions/3.12.* and python3.12 on PATH are tried.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = (3, 12)
PROBE = f"import sys; print(sys.executable) if sys.version_info[:2] == {VERSION!r} else sys.exit(1)"


def candidates() -> list[str]:
    if os.environ.get("PYTHON312"):
        return [os.environ["PYTHON312"]]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = sorted(pyenv_root.glob("versions/3.12.*/bin/python3.12"), key=lambda p: p.parents[1].name)
    on_path = shutil.which("python3.12")
    return [str(path) for path in reversed(installed)] + ([on_path] if on_path else [])


def python312() -> str | None:
    """The real executable of a CPython 3.12 here (pyenv's shims resolved), or None."""
    for candidate in candidates():
        try:
            probe = subprocess.run([candidate, "-c", PROBE], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip():
            return probe.stdout.strip()
    return None


def compile_tree(interpreter: str, directory: Path) -> None:
    subprocess.run(
        [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
    )


def main(argv: list[str]) -> int:
    interpreter = python312()
    if interpreter is None:
        print(
            "lambda_build/bytecode.py: no CPython 3.12 found (set PYTHON312, or install it with pyenv or on PATH); "
            "Lambda's python3.12 needs bytecode compiled by the same version",
            file=sys.stderr,
        )
        return 1
    if argv == ["--which"]:
        print(interpreter)
        return 0
    if not argv or any(argument.startswith("-") for argument in argv):
        print(__doc__, file=sys.stderr)
        return 2
    for directory in map(Path, argv):
        compile_tree(interpreter, directory)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
