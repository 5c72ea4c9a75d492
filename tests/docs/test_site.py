"""The manual builds without a warning, and what is generated from the code matches the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from producer_common import constants

from tests.docs.pages import ROOT
from tools.bench.suite import COST_MARKS, README_MARKS, SCALE_MARKS, into_readme
from tools.docs import configuration

MKDOCS = Path(sys.executable).parent / "mkdocs"
README_MAX_LINES = 200


def test_the_site_builds_with_strict_and_no_warning(tmp_path: Path) -> None:
    # Given the manual as committed (mkdocs.yml at the root, strict: a broken link, a missing anchor or a
    # page left out of the nav is a warning, and any warning fails the build)
    # When it is built as make docs builds it, into a directory of this test's own
    run = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Then it succeeds, says no WARNING, and every page of docs/ became a page of the site
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    for page in (ROOT / "docs").rglob("*.md"):
        relative = page.relative_to(ROOT / "docs").with_suffix("")
        built = relative.parent / "index.html" if relative.name == "index" else relative / "index.html"
        assert (tmp_path / "site" / built).is_file(), f"{page} was not built"


def test_the_configuration_reference_is_what_the_code_makes_now() -> None:
    committed = configuration.PAGE.read_text()
    assert committed == configuration.render(committed), (
        "run `make docs-reference` (python -m tools.docs.configuration)"
    )


def generated_variables() -> set[str]:
    page = configuration.PAGE.read_text()
    block = page[page.index(configuration.MARKS[0]) : page.index("### Parameters")]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", block, re.MULTILINE))


def test_every_variable_named_in_constants_and_the_contract_is_in_the_reference() -> None:
    in_constants = {
        value for name, value in vars(constants).items() if isinstance(value, str) and name == value and name.isupper()
    }
    named_in_brief = {
        "FEED_MIN_INTERVAL_S", "FEED_MAX_INTERVAL_S", "FEED_BACKOFF_S", "FEED_MAX_ITEMS", "KAFKA_PARTITIONER",
        "POWERTOOLS_PARAMETERS_MAX_AGE", "FEED_URLS", "FEED_LIST_URI", "FETCH_CONCURRENCY", "FETCH_PER_HOST",
        "FETCH_TIMEOUT_S", "MAX_FEED_BYTES", "FEED_ALLOW_PRIVATE_ADDRESSES", "POLYMARKET_GAMMA_URL",
        "POLYMARKET_CLOB_URL", "MARKET_SLUGS", "MARKET_TAG_ID", "MAX_MARKETS", "MIN_LIQUIDITY",
    }  # fmt: skip
    assert len(in_constants) > 25
    assert (in_constants | named_in_brief) - generated_variables() == set()


def test_every_variable_of_the_reference_has_a_meaning_written_by_hand() -> None:
    page = configuration.PAGE.read_text()
    prose = page[page.index(configuration.MARKS[1]) :]
    explained = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", prose, re.MULTILINE))
    assert generated_variables() - explained == set(), "add a line to 'What each variable means'"


def test_the_readme_is_a_front_door_whose_paths_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    layout = readme[readme.index("## Layout") : readme.index("## The manual")]
    paths = [
        path
        for row in layout.splitlines()
        if row.startswith("| `")
        for path in re.findall(r"`([^`]+)`", row.split(" | ")[0])
    ]
    assert len(paths) > 15
    assert [path for path in paths if not (ROOT / path).exists()] == []
    # each file the layout names in a folder's row exists in that folder, and a code folder's row names them all
    for row in layout.splitlines():
        folders = re.findall(r"`([\w/]+/)`", row.split(" | ")[0])
        if len(folders) != 1:
            continue
        named = set(re.findall(r"`([\w]+\.py|[\w]+/)`", row.split(" | ")[1]))
        assert [name for name in named if not (ROOT / folders[0] / name).exists()] == [], folders[0]
        if folders[0].startswith(("functions/", "layers/common/")):
            present = {p.name for p in (ROOT / folders[0]).glob("*.py") if p.name != "__init__.py"}
            present |= {p.name + "/" for p in (ROOT / folders[0]).iterdir() if (p / "__init__.py").is_file()}
            assert present - named == set(), f"the README's layout leaves out of {folders[0]}"


def test_make_bench_writes_its_figures_into_the_figures_page(tmp_path: Path) -> None:
    # Given a copy of the figures page, where make bench writes (tools/bench/suite.py's default target)
    page = tmp_path / "figures.md"
    shutil.copy(ROOT / "docs" / "performance" / "figures.md", page)
    tables = ((README_MARKS, "| new bench |"), (COST_MARKS, "| new cost |"), (SCALE_MARKS, "| new scale |"))
    # When bench writes its three tables as a full run does
    for marks, table in tables:
        into_readme(page, table + "\n", marks)
    # Then each lands between its marks, and nothing of the old tables is left
    text = page.read_text()
    for marks, table in tables:
        assert text[text.index(marks[0]) : text.index(marks[1])].strip().endswith(table)
    assert "| K |" not in text and "**total**" not in text


def test_every_link_of_the_readme_reaches_a_page() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert len(links) > 10
    assert [link for link in links if not link.startswith("http") and not (ROOT / link).is_file()] == []
