"""Fuzz the record parser (``feedpub.normalise.parse_record``) for a fixed time.

    .venv/bin/python -m tests.fuzz --seconds 60        # default: 30 seconds
    .venv/bin/python -m tests.fuzz --seed 7 --crashes /tmp/crashes

The corpus starts from ``seeds/*.txt`` and ``tests/data/records/*.txt`` (their
``#!`` header lines cut off, as ``tests/test_record_cases.split_case`` does).
Each round takes a corpus entry, mutates it (byte flips, YAML-significant
fragments such as ``&a``, ``*a``, ``[``, ``{``, ``!!python/object``, NUL, a
stray ``\\xc3``, CRLF, ``---``, ``#``, long repeats, splices of two inputs,
swapped field values), parses it and checks:

- no exception escapes ``parse_record``;
- the result holds an article or at least one error;
- every problem's text starts with the file's path;
- a call takes under 2 seconds (``--slow``);
- an accepted article renders as one Atom and one RSS entry that are
  well-formed XML (inside a root declaring the media, dc and atom
  namespaces) with no script markup, ``on*`` attribute or non-http(s) link.

Inputs that behave in a new way (a new set of problem kinds) join the corpus.
The run is deterministic for a given ``--seed``: the n-th input is always the
same (only how many inputs fit in the time budget varies).  When ``atheris``
is importable it drives the mutations instead (coverage-guided libFuzzer,
``-max_total_time``); ``--no-atheris`` forces the built-in loop.

Every failing input is saved to ``--crashes`` (default
``/tmp/feedpub-fuzz-crashes``) as ``<kind>-<sha1>.txt`` with a ``.log`` holding
the traceback, and a shrunk copy (``.min.txt``) when shrinking keeps the same
failure.  The exit status is 1 if anything failed, else 0.  The last line is a
one-line summary: inputs tried, accepted, rejected, failures, slowest call.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from feedpub.model import ParseResult, Severity
from feedpub.normalise import parse_record
from feedpub.render import ATOM_NS, DC_NS, FORMATS, MEDIA_NS
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
        return data[:i] + self.rng.choice(FRAGMENTS) + data[i:]

    def replace_value(self, data: bytes, corpus: list[bytes]) -> bytes:
        lines = list(_FIELD_LINE.finditer(data))
        if not lines:
            return self.insert_fragment(data, corpus)
        match = self.rng.choice(lines)
        value = self.rng.choice(VALUES if self.rng.random() < 0.7 else FRAGMENTS)
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
        unit = self.rng.choice((*FRAGMENTS[:12], b"a", b" ", b"\n", b"- ", b"  ", b"&amp;", b"<b>", b"\xc3\xa9"))
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

    def mutate(self, data: bytes, corpus: list[bytes]) -> bytes:
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
    settings: Settings
    crashes: Path
    slow_seconds: float
    stats: Stats = field(default_factory=Stats)
    shrink_seconds: float = 5.0

    def run(self, data: bytes) -> ParseResult | None:
        """Check one input; its parse result, or None when it failed."""
        self.stats.tried += 1
        signal.alarm(HANG_SECONDS)
        start = time.perf_counter()
        try:
            result = check_one(data, self.settings)
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
        if result.article is not None:
            self.stats.accepted += 1
        else:
            self.stats.rejected += 1
        if elapsed > self.slow_seconds:
            self.stats.slow += 1
            self.failed(data, Failure("slow", f"took {elapsed:.2f} s (limit {self.slow_seconds:g} s)"))
        return result

    def failed(self, data: bytes, exc: BaseException) -> None:
        kind = exc.kind if isinstance(exc, Failure) else ("hang" if isinstance(exc, Hang) else "crash")
        self.stats.failures[kind] = self.stats.failures.get(kind, 0) + 1
        where = _where(exc)
        key = f"{kind}:{type(exc).__name__}:{where}"
        if key in self.stats.saved:
            return
        self.stats.saved.add(key)
        self.crashes.mkdir(parents=True, exist_ok=True)
        name = f"{kind}-{hashlib.sha1(data).hexdigest()[:16]}"
        (self.crashes / f"{name}.txt").write_bytes(data)
        text = "".join(traceback.format_exception(exc))
        minimal = self.shrink(data, key) if kind not in ("slow", "hang") else None
        if minimal is not None and minimal != data:
            (self.crashes / f"{name}.min.txt").write_bytes(minimal)
            text += f"\nshrunk to {len(minimal)} bytes: {minimal!r}\n"
        (self.crashes / f"{name}.log").write_text(text)
        shown = minimal if minimal is not None else data
        print(f"{kind}: {type(exc).__name__}: {str(exc)[:200]} at {where}", file=sys.stderr)
        print(f"  input ({len(shown)} bytes): {shown[:300]!r} -> {self.crashes / name}.txt", file=sys.stderr)

    def shrink(self, data: bytes, key: str) -> bytes | None:
        """A smaller input failing the same way (same kind, exception type and place)."""

        def same(candidate: bytes) -> bool:
            signal.alarm(HANG_SECONDS)
            try:
                check_one(candidate, self.settings)
            except KeyboardInterrupt:
                raise
            except (Exception, Hang) as exc:
                kind = exc.kind if isinstance(exc, Failure) else ("hang" if isinstance(exc, Hang) else "crash")
                return f"{kind}:{type(exc).__name__}:{_where(exc)}" == key
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


def _where(exc: BaseException) -> str:
    """The innermost frame in feedpub (else the innermost frame) of an exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}feedpub{os.sep}" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def summary(stats: Stats, seconds: float, seed: int, engine: str) -> str:
    failures = sum(stats.failures.values())
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(stats.failures.items()))
    return (
        f"fuzz ({engine}, seed {seed}, {seconds:.0f} s): {stats.tried} inputs tried, {stats.accepted} accepted, "
        f"{stats.rejected} rejected, {failures} failed{f' ({detail})' if detail else ''}; "
        f"slowest {stats.slowest * 1000:.1f} ms"
    )


def fuzz_builtin(runner: Runner, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    mutator = Mutator(rng)
    corpus = load_corpus()
    seen = set()
    for data in corpus:  # the seeds themselves first
        result = runner.run(data)
        if result is not None:
            seen.add(signature(result))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = mutator.mutate(rng.choice(corpus), corpus)
        result = runner.run(data)
        if result is None or len(corpus) >= MAX_CORPUS:
            continue
        sig = signature(result)
        if sig not in seen:  # a new behaviour: worth mutating further
            seen.add(sig)
            corpus.append(data)


def _dict_escape(fragment: bytes) -> str:
    """A libFuzzer dictionary entry's text: every byte as a \\xNN escape."""
    return "".join(f"\\x{byte:02x}" for byte in fragment)


def fuzz_atheris(atheris, runner: Runner, seconds: float, seed: int) -> None:  # pragma: no cover - needs atheris
    """libFuzzer drives; our target checks, saves failures and ends the run itself
    (libFuzzer exits without running Python's exit handlers)."""
    corpus_dir = Path(tempfile.mkdtemp(prefix="feedpub-fuzz-corpus-"))
    for index, data in enumerate(load_corpus()):
        (corpus_dir / f"seed-{index:04d}").write_bytes(data)
    dictionary = corpus_dir.parent / f"{corpus_dir.name}.dict"
    dictionary.write_text("".join(f'"{_dict_escape(fragment)}"\n' for fragment in FRAGMENTS))
    deadline = time.monotonic() + seconds

    def target(data: bytes) -> None:
        runner.run(data)
        if time.monotonic() >= deadline:
            print(summary(runner.stats, seconds, seed, "atheris"), flush=True)
            os._exit(1 if runner.stats.failures else 0)

    argv = [
        sys.argv[0],
        f"-max_total_time={int(seconds) + 5}",  # a backstop: the target ends the run first
        f"-seed={seed + 1}",  # libFuzzer's seed 0 means "random"
        f"-timeout={HANG_SECONDS}",
        f"-max_len={MAX_INPUT}",
        f"-dict={dictionary}",
        f"-artifact_prefix={runner.crashes}{os.sep}",
        "-error_exitcode=1",
        "-timeout_exitcode=1",
        str(corpus_dir),
    ]
    runner.crashes.mkdir(parents=True, exist_ok=True)
    if hasattr(atheris, "instrument_all"):  # coverage of feedpub, imported before atheris was
        atheris.instrument_all()
    atheris.Setup(argv, target)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--crashes", type=Path, default=Path("/tmp/feedpub-fuzz-crashes"), help="where failing inputs go"
    )
    parser.add_argument("--slow", type=float, default=SLOW_SECONDS, help="seconds a call may take (default 2)")
    parser.add_argument("--no-atheris", action="store_true", help="use the built-in loop even if atheris is installed")
    args = parser.parse_args(argv)

    settings = Settings()
    runner = Runner(settings, args.crashes, args.slow)
    signal.signal(signal.SIGALRM, _on_alarm)
    atheris = None
    if not args.no_atheris:
        try:
            import atheris  # type: ignore[import-not-found, no-redef]
        except ImportError:
            atheris = None
    started = time.monotonic()
    if atheris is not None:  # pragma: no cover - needs atheris
        fuzz_atheris(atheris, runner, args.seconds, args.seed)
    try:
        fuzz_builtin(runner, args.seconds, args.seed)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    print(summary(runner.stats, time.monotonic() - started, args.seed, "built-in"), flush=True)
    return 1 if runner.stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
