"""Shared fixtures: the project's seeds, settings for tests, and a builder."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# A fixed "now" for builds in tests: after every seed, so none is held back.
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def make_settings(**changes) -> Settings:
    """Settings as the golden files use them: every seed published."""
    base = Settings(
        records_dir=SEEDS,
        base_url="https://feeds.example.org/",
        site_url="https://example.org/",
        title="Facial recognition news",
        subtitle="Articles on computer vision and AI, newest first",
        include_unpublished=True,
        cache_dir=None,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """An empty records folder; tests write the records they need."""
    folder = tmp_path / "records"
    folder.mkdir()
    return folder


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A copy of the seeds that a test may change."""
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


def record(
    title: str = "A title",
    url: str = "https://example.com/a",
    when: str = "2023-05-17T13:21:00Z",
    topics: tuple[str, ...] = ("AI",),
    published: bool = True,
    extra: str = "",
) -> str:
    """The text of a small valid record, for tests that vary one thing."""
    topic_lines = "".join(f"  - {t}\n" for t in topics)
    return (
        "---\n"
        f"title: {title!r}\n"
        f"publishedDateTime: {when}\n"
        f"webUrl: {url!r}\n"
        f"published: {'true' if published else 'false'}\n"
        "provider:\n  name: Example\n  domain: example.com\n"
        f"topics:\n{topic_lines}"
        f"{extra}"
        "---\n"
    )


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch) -> None:
    """Each test runs in its own folder, so relative defaults (the cache in
    .feedpub-cache/) land there and not in the project."""
    monkeypatch.chdir(tmp_path)


def accept_cases() -> list[tuple[str, str | None]]:
    """``tests/data/accept-headers.txt``: (``"browser"`` or ``"reader"``, the
    Accept header or None), one per case."""
    cases = []
    for line in (Path(__file__).parent / "data" / "accept-headers.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            who, header = line.split("\t")
            assert who in ("browser", "reader"), line
            cases.append((who, None if header == "(none)" else header))
    return cases


# Files of every kind a server serves besides the feeds, and dot files it
# must not: what the preview server's and the nginx lines' tests put beside a build.
SERVED_FILES = {
    "index.html": b"<!doctype html><title>feeds</title>",
    "feeds.opml": b'<?xml version="1.0" encoding="utf-8"?><opml version="2.0"/>',
    "feed.xsl": b'<?xml version="1.0"?><xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>',
    "embed.js": b"document.querySelectorAll('[data-feedpub]');",
    "style.css": b"body { margin: 0 }",
    "embed/all.html": b'<ul class="feedpub"></ul>',
    "embed/head.html": b'<link rel="alternate" type="application/atom+xml" href="x">',
    "pic.png": b"\x89PNG\r\n\x1a\n",
    "pic.jpg": b"\xff\xd8\xff\xe0",
    "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    ".hidden": b"a dot file",
    "topics/.hidden.json": b"{}",
}


def build_with_files(folder: Path, files: dict[str, bytes]) -> None:
    """A build of the seeds into ``folder`` (as the preview server's and the
    nginx lines' tests serve it), with ``files`` written beside it."""
    from feedpub.pipeline import build  # the fixtures above need no build

    build(make_settings(output_dir=folder), as_of=AS_OF)
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
