"""Every feed document the repository holds (recorded feeds, edge cases, synthetic feeds), by name."""

from __future__ import annotations

from pathlib import Path

from tools.services.fixture_data import synthetic_feed

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = [
    ROOT / "tests" / "fixtures" / "feeds",
    ROOT / "tests" / "integration" / "feeds",
    Path(__file__).parent / "cases",
    Path(__file__).parent / "agreement",
]
DOCUMENTS = {
    f"{path.parent.name}/{path.name}": path.read_bytes()
    for folder in FOLDERS
    for path in sorted(folder.iterdir())
    if path.is_file() and path.suffix != ".md"
} | {f"synthetic/{index}.xml": synthetic_feed(index, 30) for index in range(5)}
