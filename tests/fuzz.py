"""Fuzz feedpub for a fixed time: record text, file names, settings, manifests, caches.

    .venv/bin/python -m tests.fuzz --seconds 60        # default: 30 seconds, every target
    .venv/bin/python -m tests.fuzz --target names --seed 7 --crashes /tmp/crashes

Targets (``--target``; ``all``, the default, shares the time among them):

``record``
    The record parser (``feedpub.records.fields.parse_record``).  The corpus starts
    from ``seeds/*.txt`` and ``tests/data/records/*.txt`` (their ``#!`` header
    lines cut off, as ``tests/test_record_cases.split_case`` does).  Each round
    mutates an entry (byte flips, YAML-significant fragments such as ``&a``,
    ``*a``, ``[``, ``{``, ``!!python/object``, NUL, a stray ``\\xc3``, CRLF,
    ``---``, ``#``, long repeats, splices of two inputs, swapped field values),
    parses it and checks: no exception escapes; the result holds an article or
    at least one error; every problem's text starts with the file's path; an
    accepted article renders as one Atom and one RSS entry that are well-formed
    XML with no script markup, ``on*`` attribute or non-http(s) link.
``names``
    A record's file name (bytes, ``/`` making folders): any byte but NUL, names
    that are not UTF-8, controls, long names and deep folders.  The build must
    count the record (read, or reported) and write clean feeds.
``settings``
    ``feedpub.yaml``: mutated YAML, escapes of controls and surrogates, values
    of the wrong kind; ``#!--option value`` lines add command-line options.
    The build gives clean feeds or one usage-error line (exit 2) and writes
    nothing.
``manifest``
    ``.feedpub-manifest.json`` of a finished build, mutated as bytes and as
    JSON (paths outside the folder, the lock, a folder, foreign files, wrong
    types, deep nesting).  The next build must leave every file it did not
    write where it was, and write the same feeds.
``cache``
    The SQLite cache of a finished build: cells of every table overwritten
    (wrong types, flipped bytes, broken JSON) or bytes of the file flipped, as a
    small program (``table column row kind value`` per line).  The next build
    must give the same exit code and byte-identical feeds: the cache is only
    an optimisation.

Every build target also checks: no exception escapes ``feedpub.cli.main``,
the exit code is a documented one, a usage error is one line and writes
nothing, every feed written passes ``feedpub.check.check_feed``, and
nothing outside the output folder changes.  A call takes under 2 seconds
(``--slow``).

Inputs that behave in a new way join the corpus.  The run is deterministic for
a given ``--seed``: the n-th input is always the same (only how many inputs fit
in the time budget varies).  When ``atheris`` is importable it drives the
mutations instead (coverage-guided libFuzzer, ``-max_total_time``; with
``all``, an input's first byte picks the target); ``--no-atheris`` forces the
built-in loop.

Every failing input is saved to ``--crashes`` (default
``/tmp/feedpub-fuzz-crashes``) as ``<kind>-<sha1>.txt`` (``<target>-<kind>-...``
for the targets other than ``record``) with a ``.log`` holding the traceback,
and a shrunk copy (``.min.txt``) when shrinking keeps the same failure.  A
saved input is replayed with ``--replay FILE``.  The exit status is 1 if
anything failed, else 0.  The last line is a one-line summary per target:
inputs tried, accepted, rejected, failures, slowest call.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from feedpub.check import check_feed
from feedpub.cli import main as feedpub_main
from feedpub.errors import ExitCode, Severity
from feedpub.formats import FORMATS
from feedpub.formats.common import ATOM_NS, DC_NS, MEDIA_NS
from feedpub.model import ParseResult
from feedpub.records.fields import parse_record
from feedpub.settings import Settings
from tests.test_record_cases import split_case

ROOT = Path(__file__).resolve().parent.parent
CORPUS_GLOBS = (ROOT / "seeds", "*.txt"), (ROOT / "tests" / "data" / "records", "*.txt")
PATH = "fuzz/record.txt"  # the path every input is parsed under
SLOW_SECONDS = 2.0
HANG_SECONDS = 10  # a call still running after this is interrupted and saved as a hang
MAX_INPUT = 256 * 1024  # mutations never grow an input past this
MAX_CORPUS = 4000

# YAML-significant and otherwise hostile fragments the mutator inserts.
FRAGMENTS: tuple[bytes, ...] = (
    b"&a ", b"*a", b"&a [*a, *a]", b"[", b"]", b"{", b"}", b"[[[[[[[[", b"{a: {a: {a: ",
    b"!!python/object:os.system ", b"!!python/object/apply:os.system ['id']", b"!!python/name:os.system",
    b"!!timestamp ", b"!!int ", b"!!float ", b"!!bool ", b"!!binary ", b"!!set ", b"!!omap ", b"!!str ",
    b"!!null ", b"!custom ", b"!<tag:x> ", b"<<: ", b"%YAML 1.1\n", b"%TAG ! tag:x:\n",
    b"\x00", b"\xc3", b"\xc3\x28", b"\xff", b"\xef\xbb\xbf", b"\xc2\x85", b"\xc2\x9d", b"\xe2\x80\xa8",
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\r\n", b"\r", b"\n", b"\t", b"---", b"---\n", b"...\n",
    b"#", b" #", b": ", b"- ", b"? ", b"|", b"|-\n  ", b">", b"'", b'"', b"\\", b"\\u0000", b"\\x85",
    b"~", b"null", b"yes", b"no", b"0x1F", b"0o17", b"1e999", b".nan", b"-.inf", b"1_000",
    b"2023-05-17T13:21:00Z", b"2023-05-17 13:21:00+25:00", b"0001-01-01 00:00:00+01:00",
    b"9999-12-31T23:59:59-01:00", b"2023-02-30", b"Wed, 17 May 2023 13:21:00 XYZ", b"1684329660",
    b"https://example.com/a", b"javascript:alert(1)", b"data:text/html,x", b"//example.com/",
    b"http://[::1", b"http://user:pw@example.com/", b"https://\xe4\xbe\x8b\xe3\x81\x88.jp/",
    b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>", b"]]>", b"&amp;lt;b&amp;gt;",
    b"&#x0;", b"&#768;", b"&#xD800;", b"\xc3\xa2\xe2\x82\xac\xe2\x84\xa2",
    b"title: ", b"excerpt: ", b"publishedDateTime: ", b"updatedDateTime: ", b"webUrl: ", b"originalUrl: ",
    b"published: ", b"provider:\n  name: ", b"topics:\n  - ", b"images:\n  - url: ", b"related:\n  - webUrl: ",
    b"secured: ", b"  ", b"        ",
)  # fmt: skip
# Values swapped in for a field's value.
VALUES: tuple[bytes, ...] = (
    b"", b"~", b"true", b"no", b"0", b"1", b"-1", b"3.5", b"[]", b"{}", b"[a, b]", b"{name: x}", b"''", b'""',
    b"'quoted # hash'", b"plain # comment", b"2023-05-17", b"2023-05-17T13:21:00Z", b"May 17, 2023",
    b"03/04/2023", b"1684329660", b"1684329660000", b"1970-01-01", b"https://example.com/x y",
    b"HTTPS://EXAMPLE.COM:443/a#f", b"javascript:alert(1)", b"CON", b"../..", b"/", b"'\\x00'", b"\"\\x85\"",
    b"\"\\ud800\"", b"!!timestamp x", b"!!int x", b"!!bool maybe", b"!!float x", b"*a", b"&a x",
)  # fmt: skip

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
WRAP_OPEN = f'<fuzz xmlns:media="{MEDIA_NS}" xmlns:dc="{DC_NS}" xmlns:atom="{ATOM_NS}">\n'.encode()
WRAP_CLOSE = b"</fuzz>\n"
_SCRIPT = re.compile(rb"<\s*/?\s*script", re.IGNORECASE)
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/\S*)?$")
_FIELD_LINE = re.compile(rb"^([ \t-]*[A-Za-z_][\w-]*:[ \t]*)(.*)$", re.MULTILINE)


# --- corpus --------------------------------------------------------------------------------


def load_corpus() -> list[bytes]:
    corpus = []
    for folder, pattern in CORPUS_GLOBS:
        for path in sorted(folder.glob(pattern)):
            _header, data = split_case(path.read_bytes())
            corpus.append(data)
    if not corpus:
        corpus.append(
            b"---\ntitle: A title\npublishedDateTime: 2023-05-17T13:21:00Z\nwebUrl: https://example.com/a\n---\n"
        )
    return corpus


# --- mutations ------------------------------------------------------------------------------


class Mutator:
    """Deterministic mutations from one ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fragments = FRAGMENTS  # the target's own, set by mutate()
        self.operators: tuple[Callable[[bytes, list[bytes]], bytes], ...] = (
            self.flip_bit,
            self.set_byte,
            self.insert_fragment,
            self.insert_fragment,
            self.insert_fragment,
            self.replace_value,
            self.replace_value,
            self.delete_range,
            self.duplicate_range,
            self.long_repeat,
            self.splice,
            self.splice_lines,
            self.swap_lines,
            self.truncate,
            self.insert_random,
        )

    def _pos(self, data: bytes) -> int:
        return self.rng.randint(0, len(data))

    def flip_bit(self, data: bytes, corpus: list[bytes]) -> bytes:
        if not data:
            return bytes([self.rng.randrange(256)])
        i = self.rng.randrange(len(data))
        return data[:i] + bytes([data[i] ^ (1 << self.rng.randrange(8))]) + data[i + 1 :]

    def set_byte(self, data: bytes, corpus: list[bytes]) -> bytes:
        if not data:
            return data
        i = self.rng.randrange(len(data))
        byte = self.rng.choice(b"\x00\n\r\t #:-[]{}&*!|>'\"\\\x7f\x80\xc3\xff")
        return data[:i] + bytes([byte]) + data[i + 1 :]

    def insert_fragment(self, data: bytes, corpus: list[bytes]) -> bytes:
        i = self._pos(data)
        if self.rng.random() < 0.7:  # at a line start, where keys and delimiters matter
            i = data.rfind(b"\n", 0, i) + 1
        return data[:i] + self.rng.choice(self.fragments) + data[i:]

    def replace_value(self, data: bytes, corpus: list[bytes]) -> bytes:
        lines = list(_FIELD_LINE.finditer(data))
        if not lines:
            return self.insert_fragment(data, corpus)
        match = self.rng.choice(lines)
        value = self.rng.choice(VALUES if self.rng.random() < 0.7 else self.fragments)
        return data[: match.start(2)] + value + data[match.end(2) :]

    def delete_range(self, data: bytes, corpus: list[bytes]) -> bytes:
        if not data:
            return data
        i = self.rng.randrange(len(data))
        j = min(len(data), i + self.rng.choice((1, 2, 4, 16, 64, 256)))
        return data[:i] + data[j:]

    def duplicate_range(self, data: bytes, corpus: list[bytes]) -> bytes:
        if not data:
            return data
        i = self.rng.randrange(len(data))
        j = min(len(data), i + self.rng.randint(1, 200))
        return data[:j] + data[i:j] + data[j:]

    def long_repeat(self, data: bytes, corpus: list[bytes]) -> bytes:
        unit = self.rng.choice((*self.fragments[:12], b"a", b" ", b"\n", b"- ", b"  ", b"&amp;", b"<b>", b"\xc3\xa9"))
        count = self.rng.choice((10, 100, 1000, 10_000, 50_000))
        i = self._pos(data)
        return data[:i] + unit * count + data[i:]

    def splice(self, data: bytes, corpus: list[bytes]) -> bytes:
        other = self.rng.choice(corpus)
        return data[: self._pos(data)] + other[self.rng.randint(0, len(other)) :]

    def splice_lines(self, data: bytes, corpus: list[bytes]) -> bytes:
        lines = data.split(b"\n")
        other = self.rng.choice(corpus).split(b"\n")
        lines.insert(self.rng.randint(0, len(lines)), self.rng.choice(other))
        return b"\n".join(lines)

    def swap_lines(self, data: bytes, corpus: list[bytes]) -> bytes:
        lines = data.split(b"\n")
        if len(lines) < 2:
            return data
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)

    def truncate(self, data: bytes, corpus: list[bytes]) -> bytes:
        return data[: self._pos(data)]

    def insert_random(self, data: bytes, corpus: list[bytes]) -> bytes:
        i = self._pos(data)
        return data[:i] + self.rng.randbytes(self.rng.randint(1, 16)) + data[i:]

    def mutate(self, data: bytes, corpus: list[bytes], fragments: tuple[bytes, ...] = FRAGMENTS) -> bytes:
        self.fragments = fragments
        for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3, 4, 8))):
            data = self.rng.choice(self.operators)(data, corpus)
            if len(data) > MAX_INPUT:
                data = data[:MAX_INPUT]
        return data


# --- the target ----------------------------------------------------------------------------


class Failure(Exception):
    """An invariant does not hold; ``kind`` names it in file names and the summary."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Hang(BaseException):
    """Raised by the alarm in a call that runs past HANG_SECONDS."""


def _on_alarm(signum, frame):  # pragma: no cover - only on a hang
    raise Hang()


def _check_entry(fmt: str, entry: bytes) -> None:
    try:
        root = etree.fromstring(WRAP_OPEN + entry + WRAP_CLOSE, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise Failure("render", f"{fmt} entry is not well-formed XML: {exc}") from None
    if _SCRIPT.search(entry):
        raise Failure("render", f"{fmt} entry holds script markup")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            local = etree.QName(name).localname
            if local.lower().startswith("on"):
                raise Failure("render", f"{fmt} entry has an attribute {local}={value!r}")
            if local in ("href", "url", "uri") and not _HTTP_URL.match(value):
                raise Failure("render", f"{fmt} entry links to {value!r}, not an absolute http(s) URL")
        if element.tag in ("link", f"{{{ATOM_NS}}}uri", "uri") and element.text is not None:
            if not _HTTP_URL.match(element.text):
                raise Failure("render", f"{fmt} entry links to {element.text!r}, not an absolute http(s) URL")


def check_one(data: bytes, settings: Settings) -> ParseResult:
    """Parse ``data`` and check the invariants; the parse result.
    Raises ``Failure`` (or whatever escaped ``parse_record``)."""
    result = parse_record(PATH, data, settings)
    if result.path != PATH:
        raise Failure("result", f"result.path is {result.path!r}")
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    if result.article is None and not errors:
        raise Failure("result", "no article and no error")
    if result.article is not None and errors:
        raise Failure("result", f"an article and errors: {[str(p) for p in errors]}")
    for problem in result.problems:
        text = str(problem)
        if not text.startswith(PATH):
            raise Failure("problem", f"problem does not start with the path: {text!r}")
    if result.article is not None:
        for fmt in ("atom", "rss"):
            _check_entry(fmt, FORMATS[fmt].render_entry(result.article, settings))
    return result


def signature(result: ParseResult) -> tuple:
    """What an input did, coarsely: accepted or not, and the kinds of its problems."""
    kinds = sorted(
        {(p.severity.value, p.field or "", re.sub(r"[^a-z ]", "", p.message.lower())[:24]) for p in result.problems}
    )
    return (result.article is not None, tuple(kinds))


# --- targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one input did: accepted or not, and a coarse signature of how."""

    accepted: bool
    signature: tuple


class Target:
    """One kind of input: where its corpus starts, how it mutates, what must hold."""

    name = "?"
    fragments: tuple[bytes, ...] = FRAGMENTS

    def corpus(self) -> list[bytes]:
        raise NotImplementedError

    def mutate(self, mutator: Mutator, data: bytes, corpus: list[bytes]) -> bytes:
        return mutator.mutate(data, corpus, self.fragments)

    def check(self, data: bytes) -> Outcome:
        """Run ``data``; raises ``Failure`` (or whatever escaped) when an invariant fails."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove what the target set up."""


class RecordTarget(Target):
    name = "record"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def corpus(self) -> list[bytes]:
        return load_corpus()

    def check(self, data: bytes) -> Outcome:
        result = check_one(data, self.settings)
        return Outcome(result.article is not None, signature(result))


AS_OF = "2026-01-01T00:00:00Z"
_EXIT_CODES = {int(code) for code in ExitCode}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` and its bytes (None for folders and others)."""
    found: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder)
            try:
                found[relative] = Path(path).read_bytes() if os.path.isfile(path) and not os.path.islink(path) else None
            except OSError:
                found[relative] = None
    return found


def _feeds(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in _snapshot(folder).items() if k.endswith(".xml") and v is not None}


class BuildTarget(Target):
    """Targets that run a whole build in-process in a scratch folder:
    ``records/`` (a few seeds), ``out/``, ``cache/``, and ``outside.txt``,
    which no build may touch."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"feedpub-fuzz-{self.name}-"))
        self.template = self.root / "template"
        records = self.template / "records"
        records.mkdir(parents=True)
        for path in sorted((ROOT / "seeds").glob("*.txt"))[:3]:
            shutil.copy(path, records / path.name)
        (self.template / "outside.txt").write_bytes(b"not feedpub's\n")
        (self.template / "empty.yaml").write_bytes(b"")
        self.round = 0

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        """A fresh copy of the template for one input, always at the same path:
        the cache is named after the records folder's path, and the last
        run's state it keeps names the output folder's."""
        self.round += 1
        folder = self.root / "run"
        shutil.copytree(self.template, folder, symlinks=True)
        try:
            yield folder
        finally:
            for root, dirs, _files in os.walk(folder):  # a mutated run may leave read-only folders
                for name in dirs:
                    with contextlib.suppress(OSError):
                        os.chmod(os.path.join(root, name), 0o700)
            shutil.rmtree(folder, ignore_errors=True)

    def keep_as_template(self, folder: Path) -> None:
        """Make ``folder`` (a scratch folder after a build) the template."""
        shutil.rmtree(self.template)
        shutil.copytree(folder, self.template, symlinks=True)  # modification times kept: stamps still match

    def build(self, folder: Path, *argv: str, config: Path | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        args = ["build", str(folder / "records"), "-o", str(folder / "out"), "--as-of", AS_OF, "--jobs", "1"]
        args += ["--config", str(config if config is not None else folder / "empty.yaml")]  # never the current folder's
        code = feedpub_main([*args, *argv], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def check_run(self, folder: Path, code: int, err: str, before_out: dict | None) -> None:
        """The invariants every build holds, whatever its input."""
        if code not in _EXIT_CODES:
            raise Failure("exit", f"exit code {code!r} is not a documented one")
        if (folder / "outside.txt").read_bytes() != b"not feedpub's\n":
            raise Failure("outside", "outside.txt changed")
        out = folder / "out"
        if code == ExitCode.USAGE:
            if not err.startswith("feedpub: ") or err.count("\n") != 1:
                raise Failure("usage", f"a usage error is not one line: {err[:300]!r}")
            now = _snapshot(out) if out.exists() else None
            if now != before_out:
                raise Failure("usage", "a usage error changed the output folder")
            return
        for relative, data in _feeds(out).items():
            findings = check_feed(relative, data)
            if findings:
                raise Failure("feed", f"{relative}: {findings[0]}")


class NamesTarget(BuildTarget):
    """A record's file name: any bytes (``/`` makes folders)."""

    name = "names"
    fragments = (
        b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\n", b"\r", b"\t", b"\x1b", b"\x7f", b" ", b".",
        b"..", b"-", b"~", b"*", b"?", b"\\", b":", b"'", b'"', b"$", b"%", b"#", b"&", b"<", b">", b"|",
        b".txt", b".md", b".yaml", b".yml", b".TXT", b".xml", b"/", b"con", b"aux", b"\xc3\xa9", b"\xe2\x80\xae",
        b"a" * 200, b"\xe2\x80\x8b", b"\xf0\x9f\x98\x80",
    )  # fmt: skip

    def corpus(self) -> list[bytes]:
        return [b"a.txt", b"caf\xc3\xa9.txt", b"\xff\xfe.txt", b"con.txt", b".hidden.txt", b"new\nline.txt",
                b"x" * 250 + b".txt", b"-dash.md", b"sub/folder/a.yaml", b"\xff/\xfe.yml", b"sp ace .txt",
                b"a.txt.bak", b"a" * 200 + b"/" + b"b" * 200 + b"/c.txt"]  # fmt: skip

    @staticmethod
    def parts(data: bytes) -> list[bytes]:
        """The path components ``data`` names: no NUL, none empty, ``.`` or ``..``, at most 255 bytes."""
        parts = [p[:255] for p in data.replace(b"\x00", b"_").split(b"/") if p not in (b"", b".", b"..")]
        return parts[:40] or [b"_"]

    def check(self, data: bytes) -> Outcome:
        parts = self.parts(data)
        with self.scratch() as folder:
            records = os.fsencode(folder / "records")
            target = os.path.join(records, *parts)
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as file:
                    file.write((ROOT / "seeds" / sorted(os.listdir(ROOT / "seeds"))[0]).read_bytes())
            except OSError as exc:  # the system refuses the name (too long a path): nothing to test
                return Outcome(False, ("unwritable", exc.errno))
            code, out, err = self.build(folder, "--json", "--no-cache")
            self.check_run(folder, code, err, None)
            if code == ExitCode.USAGE:
                raise Failure("usage", f"a file name made a usage error: {err!r}")
            counted = json.loads(out)["records"]
            hidden = any(p.startswith(b".") for p in parts)
            eligible = not hidden and parts[-1].endswith((b".txt", b".md", b".yaml", b".yml"))
            if counted != 3 + eligible:
                raise Failure("count", f"{counted} records read of {3 + eligible}")
            return Outcome(code == ExitCode.OK, (code, eligible, len(parts) > 1, err.count("\n") > 0))


class SettingsTarget(BuildTarget):
    """``feedpub.yaml``, and command-line options in ``#!--option value`` lines."""

    name = "settings"
    fragments = (
        *FRAGMENTS,
        b'"\\x01"', b'"\\x00"', b'"\\x85"', b'"\\ud800"', b'"\\udcff"', b'"\\ufffe"', b'"\\u2028"', b'"\\U0010ffff"',
        b"title: ", b"subtitle: ", b"author: ", b"language: ", b"base_url: ", b"site_url: ", b"formats: ",
        b"max_items: ", b"default_timezone: ", b"ambiguous_dates: ", b"record_suffixes: ", b"output_dir: ",
        b"records_dir: ", b"cache_dir: ", b"include_unpublished: ", b"max_topics: ", b"lock_timeout: ",
        b"#!--title ", b"#!--base-url ", b"#!--site-url ", b"#!--timezone ", b"#!--formats ", b"#!--max-items ",
        b"en-GB", b"x-private", b"zh-Hant-TW", b"[atom]", b"[.txt, .md]", b"Europe/London", b"../out", b".",
    )  # fmt: skip

    def corpus(self) -> list[bytes]:
        return [
            b"title: News\nsubtitle: Newest first\nauthor: Desk\nlanguage: en-GB\n",
            b"base_url: https://feeds.example.org/news/\nsite_url: https://example.org/\nformats: [atom]\n",
            b"max_items: 2\ninclude_unpublished: true\ndefault_timezone: Europe/Paris\nambiguous_dates: day-first\n",
            b'title: "Caf\\u00e9 \\x01 <b>news</b>"\nrecord_suffixes: [.txt, .md]\nmax_topics: 3\n',
            b"#!--title From the command line\n#!--formats rss\nlanguage: fr\n",
            b"#!--base-url https://x.example/\xff/\n#!--timezone Asia/Tokyo\n",
        ]

    def check(self, data: bytes) -> Outcome:
        argv = []
        for line in data.split(b"\n"):
            if line.startswith(b"#!--"):
                option, _, value = line[2:].partition(b" ")
                argv += [os.fsdecode(option), os.fsdecode(value)]
        with self.scratch() as folder:
            config = folder / "feedpub.yaml"
            config.write_bytes(data)
            try:
                code, _, err = self.build(folder, "--no-cache", *argv, config=config)
            except SystemExit as exc:  # pragma: no cover - main() returns argparse's exits
                raise Failure("exit", f"SystemExit({exc.code!r}) escaped main()") from None
            if err.startswith("usage: ") and re.search(r"\nfeedpub( build)?: error: ", err):
                return Outcome(False, ("argparse",))  # argparse's own message, naming the option
            self.check_run(folder, code, err, None)
            kind = re.sub(r"'.*", "", err.split(": ", 2)[-1])[:30] if code == ExitCode.USAGE else ""
            return Outcome(code != ExitCode.USAGE, (code, kind))


class ManifestTarget(BuildTarget):
    """The manifest of a finished build, then the same build again."""

    name = "manifest"
    HOSTILE_PATHS = (
        "../outside.txt", "/etc/passwd", "about.html", ".feedpub.lock", "topics", "topics/", "topics/../about.html",
        "all.atom.xml/..", "", ".", "..", "topics/x/../../about.html", "\u0000", "a" * 300, "ALL.ATOM.XML",
        "topics/ai.atom.xml.tmp", "./all.rss.xml", "topics//ai.rss.xml", "\ud800.xml",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        with self.scratch() as folder:
            code, _, err = self.build(folder, "--no-cache")
            if code not in (ExitCode.OK, ExitCode.REJECTED):
                raise RuntimeError(f"the template build failed: {err}")
            self.keep_as_template(folder)
        out = self.template / "out"
        (out / "about.html").write_bytes(b"<p>a page feedpub did not write</p>\n")
        self.expected = _feeds(out)
        self.manifest = (out / ".feedpub-manifest.json").read_bytes()

    def corpus(self) -> list[bytes]:
        document = json.loads(self.manifest)
        corpus = [self.manifest]
        for path in ("../outside.txt", "about.html", ".feedpub.lock", "topics", "/etc/passwd"):
            changed = json.loads(self.manifest)
            changed["files"][path] = "0" * 64
            corpus.append(json.dumps(changed).encode())
        corpus.append(b"[" * 100_000)
        corpus.append(json.dumps({**document, "files": list(document["files"])}).encode())
        return corpus

    def mutate(self, mutator: Mutator, data: bytes, corpus: list[bytes]) -> bytes:
        rng = mutator.rng
        if rng.random() < 0.5:
            return mutator.mutate(data, corpus, self.fragments)
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            document = json.loads(self.manifest)
        if not isinstance(document, dict):
            document = json.loads(self.manifest)
        key = rng.choice(["files", "feeds", "format", "generator", rng.choice(self.HOSTILE_PATHS)])
        value = rng.choice(
            [rng.choice(self.HOSTILE_PATHS), 1, None, [], {}, True, "0" * 64, {rng.choice(self.HOSTILE_PATHS): "x"},
             [rng.choice(self.HOSTILE_PATHS)], 1e308, -1, copy.deepcopy(document.get(key))]
        )  # fmt: skip
        if key in ("files", "feeds") and isinstance(document.get(key), dict) and rng.random() < 0.7:
            document[key][rng.choice(self.HOSTILE_PATHS)] = value  # an entry, not the whole table
        else:
            document[key] = value
        return json.dumps(document).encode("utf-8", "surrogatepass")

    def check(self, data: bytes) -> Outcome:
        with self.scratch() as folder:
            (folder / "out" / ".feedpub-manifest.json").write_bytes(data)
            code, _, err = self.build(folder, "--no-cache")
            self.check_run(folder, code, err, None)
            out = folder / "out"
            if (out / "about.html").read_bytes() != b"<p>a page feedpub did not write</p>\n":
                raise Failure("foreign", "about.html, a file feedpub did not write, changed or went")
            if code == ExitCode.OUTPUT:
                raise Failure("exit", f"a manifest made the build fail: {err.strip()[:300]}")
            if _feeds(out) != self.expected:
                raise Failure("feeds", "the feeds differ from the first build's")
            warned = "manifest" in err
            return Outcome(not warned, (code, warned))


class CacheTarget(BuildTarget):
    """The cache of a finished build, then the same build again."""

    name = "cache"
    KINDS = (b"text", b"int", b"real", b"null", b"blob", b"flip", b"json", b"raw", b"touch", b"rmout")
    VALUES = (
        b"", b"x", b"{", b"[]", b"{}", b"null", b"0", b"-1", b"9" * 30, b"1e999", b'{"a": 1}', b'[1, "x", null]',
        b"\xff\xfe", b"\x00", b"2023-05-17T13:21:00Z", b"https://example.com/a", b'"' * 3, b"[" * 10_000,
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        with self.scratch() as folder:
            code, _, err = self.build(folder, "--cache-dir", str(folder / "cache"))
            if code not in (ExitCode.OK, ExitCode.REJECTED):
                raise RuntimeError(f"the template build failed: {err}")
            self.keep_as_template(folder)
        self.code = code
        self.expected = _feeds(self.template / "out")
        (self.cache_file,) = (self.template / "cache").iterdir()

    def corpus(self) -> list[bytes]:
        return [
            b"0 0 0 text x", b"1 3 0 json {", b"1 11 0 flip 5", b"1 4 0 int -1", b"2 5 0 blob \xff",
            b"0 1 0 text {\"broken\": ", b"1 2 1 null", b"raw 100 \xff\xff\xff\xff", b"touch\n1 7 0 text [1, 2]",
            b"rmout\n2 6 0 flip 9", b"3 1 0 real 1e308",
        ]  # fmt: skip

    def mutate(self, mutator: Mutator, data: bytes, corpus: list[bytes]) -> bytes:
        rng = mutator.rng
        if rng.random() < 0.3:
            return mutator.mutate(data, corpus, self.VALUES)
        line = b" ".join(
            [str(rng.randrange(8)).encode(), str(rng.randrange(16)).encode(), str(rng.randrange(4)).encode(),
             rng.choice(self.KINDS), rng.choice(self.VALUES) if rng.random() < 0.7 else str(rng.randrange(64)).encode()]
        )  # fmt: skip
        lines = [x for x in data.split(b"\n") if x][:4]
        if lines and rng.random() < 0.5:
            lines[rng.randrange(len(lines))] = line
        else:
            lines.insert(rng.randint(0, len(lines)), line)
        return b"\n".join(lines)

    @staticmethod
    def apply(db_path: Path, folder: Path, program: bytes) -> None:
        """Carry out the mutation ``program`` on the cache in ``folder``."""
        for line in program.split(b"\n")[:8]:
            words = line.split(b" ", 4)
            if words[0] == b"touch":  # a record changed since: its row is compared, then replaced
                record = sorted((folder / "records").iterdir())[0]
                os.utime(record, ns=(0, record.stat().st_mtime_ns + 1_000_000_000))
                continue
            if words[0] == b"rmout":  # the feeds gone: rendered again, from cached articles
                shutil.rmtree(folder / "out", ignore_errors=True)
                continue
            if words[0] == b"raw" and len(words) >= 2:
                with contextlib.suppress(ValueError):
                    data = bytearray(db_path.read_bytes())
                    at = int(words[1]) % max(1, len(data))
                    patch = b" ".join(words[2:]) or b"\xff"
                    data[at : at + len(patch)] = patch
                    db_path.write_bytes(bytes(data))
                continue
            if len(words) < 4:
                continue
            try:
                table_at, column_at, row = int(words[0]), int(words[1]), int(words[2])
            except ValueError:
                continue
            kind, raw = words[3], words[4] if len(words) > 4 else b""
            # (A file whose bytes were flipped may be no database any more:
            # then it goes to the build as it is.)
            with contextlib.closing(sqlite3.connect(db_path)) as db, contextlib.suppress(sqlite3.DatabaseError):
                tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
                if not tables:
                    continue
                table = tables[table_at % len(tables)]
                columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
                column = columns[column_at % len(columns)]
                found = db.execute(f'SELECT rowid, "{column}" FROM "{table}" LIMIT 1 OFFSET ?', (row,)).fetchone()
                if found is None:
                    continue
                rowid, current = found
                text = raw.decode("utf-8", "replace")
                if kind == b"int":
                    value: object = int(text) if re.fullmatch(r"-?\d{1,18}", text) else len(raw)
                elif kind == b"real":
                    value = float(text) if re.fullmatch(r"-?[\d.e+-]{1,30}", text) and _floatable(text) else 0.5
                elif kind == b"null":
                    value = None
                elif kind == b"blob":
                    value = raw
                elif kind == b"flip" and current is not None:  # one byte of the value changed
                    data = bytearray(current if isinstance(current, bytes) else str(current).encode())
                    if data:
                        data[len(raw) % len(data)] ^= 1 << (len(raw) % 8)
                    value = bytes(data) if isinstance(current, bytes) else data.decode("utf-8", "replace")
                elif kind == b"json" and isinstance(current, str):  # the JSON cut short, or a part replaced
                    value = current[: len(current) * (len(raw) % 10) // 10] + text
                else:
                    value = text
                with contextlib.suppress(sqlite3.IntegrityError):
                    db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', (value, rowid))
                    db.commit()

    def check(self, data: bytes) -> Outcome:
        with self.scratch() as folder:
            cache = folder / "cache"
            db_path = cache / self.cache_file.name
            self.apply(db_path, folder, data)
            code, _, err = self.build(folder, "--cache-dir", str(cache))
            self.check_run(folder, code, err, None)
            if code != self.code:
                raise Failure("exit", f"exit {code} where the first build gave {self.code}: {err.strip()[:300]}")
            if _feeds(folder / "out") != self.expected:
                raise Failure("feeds", "the feeds differ from the first build's")
            warned = "cache" in err
            return Outcome(not warned, (warned, re.sub(r"[^a-z ]", "", err.lower())[:40]))


def _floatable(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


TARGETS: dict[str, Callable[[Settings], Target]] = {
    "record": RecordTarget,
    "names": lambda settings: NamesTarget(),
    "settings": lambda settings: SettingsTarget(),
    "manifest": lambda settings: ManifestTarget(),
    "cache": lambda settings: CacheTarget(),
}


# --- running -------------------------------------------------------------------------------


@dataclass
class Stats:
    tried: int = 0
    accepted: int = 0
    rejected: int = 0
    slowest: float = 0.0
    slow: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # kind -> count
    saved: set[str] = field(default_factory=set)  # failure signatures already saved


@dataclass
class Runner:
    target: Target
    crashes: Path
    slow_seconds: float
    stats: Stats = field(default_factory=Stats)
    shrink_seconds: float = 5.0

    def run(self, data: bytes) -> Outcome | None:
        """Check one input; what it did, or None when it failed."""
        self.stats.tried += 1
        signal.alarm(HANG_SECONDS)
        start = time.perf_counter()
        try:
            outcome = self.target.check(data)
        except KeyboardInterrupt:
            raise
        except (Exception, Hang) as exc:
            signal.alarm(0)
            elapsed = time.perf_counter() - start
            self.stats.slowest = max(self.stats.slowest, elapsed)
            self.failed(data, exc)
            return None
        signal.alarm(0)
        elapsed = time.perf_counter() - start
        self.stats.slowest = max(self.stats.slowest, elapsed)
        if outcome.accepted:
            self.stats.accepted += 1
        else:
            self.stats.rejected += 1
        if elapsed > self.slow_seconds:
            self.stats.slow += 1
            self.failed(data, Failure("slow", f"took {elapsed:.2f} s (limit {self.slow_seconds:g} s)"))
        return outcome

    def failed(self, data: bytes, exc: BaseException) -> None:
        kind = _kind(exc)
        self.stats.failures[kind] = self.stats.failures.get(kind, 0) + 1
        where = _where(exc)
        key = f"{kind}:{type(exc).__name__}:{where}"
        if key in self.stats.saved:
            return
        self.stats.saved.add(key)
        self.crashes.mkdir(parents=True, exist_ok=True)
        prefix = "" if self.target.name == "record" else f"{self.target.name}-"
        name = f"{prefix}{kind}-{hashlib.sha1(data).hexdigest()[:16]}"
        (self.crashes / f"{name}.txt").write_bytes(data)
        text = "".join(traceback.format_exception(exc))
        minimal = self.shrink(data, key) if kind not in ("slow", "hang") else None
        if minimal is not None and minimal != data:
            (self.crashes / f"{name}.min.txt").write_bytes(minimal)
            text += f"\nshrunk to {len(minimal)} bytes: {minimal!r}\n"
        (self.crashes / f"{name}.log").write_text(text)
        shown = minimal if minimal is not None else data
        print(f"{self.target.name}: {kind}: {type(exc).__name__}: {str(exc)[:200]} at {where}", file=sys.stderr)
        print(f"  input ({len(shown)} bytes): {shown[:300]!r} -> {self.crashes / name}.txt", file=sys.stderr)

    def shrink(self, data: bytes, key: str) -> bytes | None:
        """A smaller input failing the same way (same kind, exception type and place)."""

        def same(candidate: bytes) -> bool:
            signal.alarm(HANG_SECONDS)
            try:
                self.target.check(candidate)
            except KeyboardInterrupt:
                raise
            except (Exception, Hang) as exc:
                return f"{_kind(exc)}:{type(exc).__name__}:{_where(exc)}" == key
            finally:
                signal.alarm(0)
            return False

        deadline = time.monotonic() + self.shrink_seconds
        best = data
        chunk = max(1, len(best) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            i, progressed = 0, False
            while i < len(best) and time.monotonic() < deadline:
                candidate = best[:i] + best[i + chunk :]
                if same(candidate):
                    best, progressed = candidate, True
                else:
                    i += chunk
            if not progressed:
                chunk //= 2
        return best


def _kind(exc: BaseException) -> str:
    return exc.kind if isinstance(exc, Failure) else ("hang" if isinstance(exc, Hang) else "crash")


def _where(exc: BaseException) -> str:
    """The innermost frame in feedpub (else the innermost frame) of an exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}feedpub{os.sep}" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def summary(stats: Stats, seconds: float, seed: int, engine: str, name: str = "record") -> str:
    failures = sum(stats.failures.values())
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(stats.failures.items()))
    return (
        f"fuzz {name} ({engine}, seed {seed}, {seconds:.0f} s): {stats.tried} inputs tried, {stats.accepted} accepted, "
        f"{stats.rejected} rejected, {failures} failed{f' ({detail})' if detail else ''}; "
        f"slowest {stats.slowest * 1000:.1f} ms"
    )


def fuzz_builtin(runner: Runner, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    mutator = Mutator(rng)
    target = runner.target
    corpus = target.corpus()
    seen = set()
    deadline = time.monotonic() + seconds
    for data in corpus:  # the seeds themselves first
        outcome = runner.run(data)
        if outcome is not None:
            seen.add(outcome.signature)
    while time.monotonic() < deadline:
        data = target.mutate(mutator, rng.choice(corpus), corpus)
        outcome = runner.run(data)
        if outcome is None or len(corpus) >= MAX_CORPUS:
            continue
        if outcome.signature not in seen:  # a new behaviour: worth mutating further
            seen.add(outcome.signature)
            corpus.append(data)


def _dict_escape(fragment: bytes) -> str:
    """A libFuzzer dictionary entry's text: every byte as a \\xNN escape."""
    return "".join(f"\\x{byte:02x}" for byte in fragment)


def fuzz_atheris(atheris, runners: list[Runner], seconds: float, seed: int) -> None:  # pragma: no cover - needs atheris
    """libFuzzer drives; our target checks, saves failures and ends the run itself
    (libFuzzer exits without running Python's exit handlers).  With several
    targets, an input's first byte picks one and the rest is its input."""
    corpus_dir = Path(tempfile.mkdtemp(prefix="feedpub-fuzz-corpus-"))
    several = len(runners) > 1
    fragments: set[bytes] = set()
    for number, runner in enumerate(runners):
        prefix = bytes([number]) if several else b""
        for index, data in enumerate(runner.target.corpus()):
            (corpus_dir / f"seed-{runner.target.name}-{index:04d}").write_bytes(prefix + data)
        fragments.update(runner.target.fragments)
    dictionary = corpus_dir.parent / f"{corpus_dir.name}.dict"
    dictionary.write_text("".join(f'"{_dict_escape(fragment)}"\n' for fragment in sorted(fragments)))
    deadline = time.monotonic() + seconds

    def target(data: bytes) -> None:
        if several:
            if not data:
                return
            runners[data[0] % len(runners)].run(data[1:])
        else:
            runners[0].run(data)
        if time.monotonic() >= deadline:
            for runner in runners:
                print(summary(runner.stats, seconds, seed, "atheris", runner.target.name), flush=True)
                runner.target.close()
            os._exit(1 if any(runner.stats.failures for runner in runners) else 0)

    crashes = runners[0].crashes
    argv = [
        sys.argv[0],
        f"-max_total_time={int(seconds) + 5}",  # a backstop: the target ends the run first
        f"-seed={seed + 1}",  # libFuzzer's seed 0 means "random"
        f"-timeout={HANG_SECONDS}",
        f"-max_len={MAX_INPUT}",
        f"-dict={dictionary}",
        f"-artifact_prefix={crashes}{os.sep}",
        "-error_exitcode=1",
        "-timeout_exitcode=1",
        str(corpus_dir),
    ]
    crashes.mkdir(parents=True, exist_ok=True)
    if hasattr(atheris, "instrument_all"):  # coverage of feedpub, imported before atheris was
        atheris.instrument_all()
    atheris.Setup(argv, target)
    atheris.Fuzz()


def replay(target: Target, path: Path) -> int:
    """Run one saved input and say what it did; 1 when it fails."""
    data = path.read_bytes()
    try:
        outcome = target.check(data)
    except Exception:
        traceback.print_exc()
        return 1
    print(f"{target.name}: {path}: {'accepted' if outcome.accepted else 'rejected'} {outcome.signature}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget, shared by the targets (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--target", choices=["all", *TARGETS], default="all", help="what to mutate (default: all, in turn)"
    )
    parser.add_argument(
        "--crashes", type=Path, default=Path("/tmp/feedpub-fuzz-crashes"), help="where failing inputs go"
    )
    parser.add_argument("--slow", type=float, default=SLOW_SECONDS, help="seconds a call may take (default 2)")
    parser.add_argument("--no-atheris", action="store_true", help="use the built-in loop even if atheris is installed")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="run one saved input of --target and stop")
    args = parser.parse_args(argv)

    settings = Settings()
    names = list(TARGETS) if args.target == "all" else [args.target]
    signal.signal(signal.SIGALRM, _on_alarm)
    if args.replay is not None:
        name = args.target
        if name == "all":  # from the saved file's name: <target>-<kind>-<sha1>.txt, or <kind>-... for records
            name = next((n for n in TARGETS if args.replay.name.startswith(f"{n}-")), "record")
        target = TARGETS[name](settings)
        try:
            return replay(target, args.replay)
        finally:
            target.close()
    runners = [Runner(TARGETS[name](settings), args.crashes, args.slow) for name in names]
    atheris = None
    if not args.no_atheris:
        try:
            import atheris  # type: ignore[import-not-found, no-redef]
        except ImportError:
            atheris = None
    if atheris is not None:  # pragma: no cover - needs atheris
        fuzz_atheris(atheris, runners, args.seconds, args.seed)
    share = args.seconds / len(runners)
    try:
        for number, runner in enumerate(runners):
            started = time.monotonic()
            try:
                fuzz_builtin(runner, share, args.seed + number)
            except KeyboardInterrupt:
                print("interrupted", file=sys.stderr)
                break
            finally:
                runner.target.close()
                print(summary(runner.stats, time.monotonic() - started, args.seed + number, "built-in",
                              runner.target.name), flush=True)  # fmt: skip
    finally:
        for runner in runners:
            runner.target.close()
    return 1 if any(runner.stats.failures for runner in runners) else 0


if __name__ == "__main__":
    sys.exit(main())
