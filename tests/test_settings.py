"""Settings as hostile input: every text setting, from the config file and the
command line, either gives a clean build or a one-line usage error naming it."""

from __future__ import annotations

import io
import os
import re
import tempfile
from enum import StrEnum
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedpub.check import check_feed
from feedpub.cli import ExitCode, main
from feedpub.settings import Settings, folder_clash, load_settings
from tests.conftest import record

AS_OF = ("--as-of", "2026-01-01T00:00:00Z")

# The text settings, each with a valid value to spoil, and the command-line
# option that sets it where there is one.
TEXT_SETTINGS = {
    "title": ("News of the day", "--title"),
    "subtitle": ("Articles, newest first", None),
    "author": ("The newsroom", None),
    "language": ("en-GB", None),
    "base_url": ("https://feeds.example.org/news/", "--base-url"),
    "site_url": ("https://example.org/", "--site-url"),
    "default_timezone": ("Europe/London", "--timezone"),
    "formats": ("atom,rss", "--formats"),
    "ambiguous_dates": ("day-first", "--ambiguous-dates"),
}
# Every control character (C0, DEL, C1), lone surrogates (what undecodable
# bytes become), and the other characters that XML or YAML treat specially.
SPOILERS = st.one_of(
    st.sampled_from([chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.sampled_from(["\ufffe", "\uffff", "\ufffd", "\u2028", "\u2029", "\ufeff", "\u200b", "<", "&", "]]>", " "]),
)


def _yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar, every unusual character escaped."""
    escaped = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text)
    return f'"{escaped}"'


def _build(folder: Path, argv: list[str]) -> tuple[int, str, str]:
    records = folder / "records"
    records.mkdir()
    (records / "a.txt").write_text(record(title="An <b>article</b>", topics=("AI", "Vision")), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", str(records), "-o", str(folder / "out"), "--no-cache", *AS_OF, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _assert_clean_build_or_usage_error(folder: Path, key: str, code: int, err: str, option: str | None) -> None:
    assert "Traceback" not in err
    if code == ExitCode.USAGE:
        if option is not None and f"error: argument {option}: invalid choice" in err:
            pass  # argparse's own usage message, naming the option
        else:
            assert err.startswith("feedpub: ") and err.count("\n") == 1, err
            # a setting's message names it; the YAML reader's, the file and line
            assert f": {key}: " in err or err.startswith(f"feedpub: {folder / 'feedpub.yaml'}:1: "), err
        assert not (folder / "out").exists()
        return
    assert (code, err) == (ExitCode.OK, "")
    feeds = sorted((folder / "out").rglob("*.xml"))
    assert feeds
    for path in feeds:
        data = path.read_bytes()
        assert check_feed(str(path), data) == []
        assert feedparser.parse(data).bozo == 0, path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(TEXT_SETTINGS)),
    spoiler=SPOILERS,
    where=st.floats(0, 1),
    from_config=st.booleans(),
)
def test_a_spoilt_text_setting_builds_cleanly_or_is_a_usage_error(
    key: str, spoiler: str, where: float, from_config: bool
) -> None:
    good, option = TEXT_SETTINGS[key]
    at = round(where * len(good))
    value = good[:at] + spoiler + good[at:]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if from_config or option is None:
            config = folder / "feedpub.yaml"
            config.write_text(f"{key}: {_yaml_quoted(value)}\n", "utf-8")
            code, _, err = _build(folder, ["--config", str(config)])
        else:
            code, _, err = _build(folder, [f"{option}={value}"])  # "=": a value may start with "-"
        _assert_clean_build_or_usage_error(folder, key, code, err, option)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(min_size=1, max_size=40))
def test_any_feed_title_builds_cleanly_or_is_a_usage_error(value: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        code, _, err = _build(Path(name), [f"--title={value}"])
        _assert_clean_build_or_usage_error(Path(name), "title", code, err, "--title")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("News\x00 of\x1b the\x7f day\x08", "News of the day"),
        ("<b>Bold</b> news &amp; views", "Bold news & views"),
        ("Caf\u00c3\u00a9 news", "Caf\u00e9 news"),  # mojibake repaired, as in records
        ("  spaced\t\tout  ", "spaced out"),
    ],
)
def test_feed_texts_get_a_records_clean_up(value: str, expected: str) -> None:
    changed = load_settings(overrides={"title": value, "subtitle": value, "author": value})
    assert (changed.title, changed.subtitle, changed.author) == (expected, expected, expected)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"title": "\x01\x02"}, "title: '\\x01\\x02' is not a non-empty text"),
        ({"title": "a\udcffb"}, "title: 'a\\udcffb' is not valid UTF-8 text"),
        ({"author": "<br>"}, "author: '<br>' is not a non-empty text"),
        ({"base_url": "https://x.org/\udcff"}, "base_url: 'https://x.org/\\udcff' is not valid UTF-8 text"),
        ({"site_url": "https://x.org/\x01"}, "site_url: 'https://x.org/\\x01' contains control characters"),
        ({"default_timezone": "Europe/\udcffLondon"}, "default_timezone: 'Europe/\\udcffLondon' is not valid UTF-8"),
        ({"default_timezone": "Europe/" + "a" * 300}, "default_timezone: 'Europe/aaaa"),
        ({"default_timezone": "Europe"}, "default_timezone: 'Europe' is not an IANA time zone name"),
        ({"default_timezone": "../../etc/passwd"}, "default_timezone: '../../etc/passwd' is not an IANA"),
        ({"records_dir": "rec\x00ords"}, "records_dir: 'rec\\x00ords' holds a NUL character"),
        ({"record_suffixes": [".txt", "./x"]}, "record_suffixes: ['.txt', './x'] is not a list of file endings"),
        ({"record_suffixes": [".t\x01"]}, "record_suffixes: ['.t\\x01'] is not a list of file endings"),
        ({"ti\x01tle": "x"}, "'ti\\x01tle': unknown setting"),
    ],
)
def test_bad_settings_name_the_setting_and_the_value(overrides: dict, message: str) -> None:
    from feedpub.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        load_settings(overrides=overrides)
    assert str(raised.value).startswith("command line: ") and message in str(raised.value)


@pytest.mark.parametrize(
    "tag",
    ["en", "EN", "fr-CA", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901", "es-419", "yue", "en-US-x-twain",
     "x-private", "zh-cmn-Hans-CN"],
)  # fmt: skip
def test_language_tags_are_accepted(tag: str) -> None:
    assert load_settings(overrides={"language": tag}).language == tag


@pytest.mark.parametrize(
    "tag",
    ["", " ", "e", "english", "en_GB", "en-", "-en", "en--GB", "en GB", "en-GB-", "en\x00", "\u00e9n",
     "en-\u0660\u0661", "123", "en-a", "en-x", "en-GB-x-waytoolongtag", 7, None, ["en"]],
)  # fmt: skip
def test_other_languages_are_usage_errors(tag) -> None:
    from feedpub.errors import ConfigError

    with pytest.raises(ConfigError, match="language: .* is not a language tag"):
        load_settings(overrides={"language": tag})


def test_paths_in_the_config_are_taken_as_written(tmp_path: Path) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text('records_dir: "my  records "\noutput_dir: "caf\\u00e9"\n', "utf-8")
    loaded = load_settings(config)
    assert (loaded.records_dir, loaded.output_dir) == (Path("my  records "), Path("caf\u00e9"))


@pytest.mark.parametrize(
    "argv, key",
    [(["", "-o", "out"], "records_dir"), (["records", "-o", ""], "output_dir"),
     (["records", "-o", "out", "--cache-dir", ""], "cache_dir"), (["records", "-o", " "], "output_dir")],
)  # fmt: skip
def test_an_empty_path_on_the_command_line_is_a_usage_error(tmp_path: Path, monkeypatch, argv, key) -> None:
    """As in the config file: an empty value (an unset shell variable, say) is
    not taken for the current folder, where feeds, records or the cache would
    then be written or read without a word."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "a.txt").write_text(record(), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", *argv, *AS_OF], out=out, err=err)
    assert code == ExitCode.USAGE
    assert err.getvalue().startswith(f"feedpub: command line: {key}: ") and "is not a path" in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records"]


# --- an item limit of 0 ----------------------------------------------------------------------

# Every place max_items is given, each with 0: (config file text, options,
# where the message says it is, "{config}" standing for the file's path).
# Archive pages keep the whole history; one feed of every item has no use.
ZERO_LIMITS = [
    ("max_items: 0\n", [], "{config}: max_items"),
    ("", ["--max-items", "0"], "command line: max_items"),
    ("feeds:\n  all: {max_items: 0}\n", [], "{config}: feeds: all: max_items"),
    ("feeds:\n  topics:\n    AI: {max_items: 0}\n", [], "{config}: feeds: topics: AI: max_items"),
    ("feeds:\n  topics:\n    'vision-*': {max_items: 0}\n", [], "{config}: feeds: topics: 'vision-*': max_items"),
    ("feeds:\n  providers:\n    '*': {max_items: 0}\n", [], "{config}: feeds: providers: '*': max_items"),
    ("feeds:\n  custom:\n    best: {topics: [AI], max_items: 0}\n", [], "{config}: feeds: custom: best: max_items"),
]


@pytest.mark.parametrize("text, options, where", ZERO_LIMITS)
def test_an_item_limit_of_0_is_a_usage_error_that_points_to_archives(
    tmp_path: Path, text: str, options: list[str], where: str
) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    code, _, err = _build(tmp_path, ["--config", str(config), *options])
    assert code == ExitCode.USAGE
    assert err == (
        f"feedpub: {where.format(config=config)}: 0 is not an item limit (at least 1); for the whole history, "
        "archive_items: N keeps older items in archive pages of N items each (a large max_items works too)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["-1", "1.5", "'10'", "true", "many"])
@pytest.mark.parametrize("text, where", [("max_items: {value}\n", "max_items")] + [
    (text.replace("0}", "{value}}").replace(": 0\n", ": {value}\n"), where[len("{config}: "):])
    for text, options, where in ZERO_LIMITS[2:]
])  # fmt: skip
def test_an_item_limit_that_is_no_whole_number_says_it_must_be_at_least_1(
    tmp_path: Path, text: str, where: str, value: str
) -> None:
    """Not ">= 0": a limit of 0 is refused too, so the message says what is taken."""
    config = tmp_path / "feedpub.yaml"
    config.write_text(text.replace("{value}", value), "utf-8")
    code, _, err = _build(tmp_path, ["--config", str(config)])
    assert code == ExitCode.USAGE
    assert err.startswith(f"feedpub: {config}: {where}: ") and err.endswith(
        " is not an item limit (a whole number, at least 1)\n"
    ), err
    assert not (tmp_path / "out").exists()


# --- the config file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, first, line, key",
    [
        ("title: One\nlanguage: en\ntitle: Two\n", 1, 3, "title"),
        ("title: One\n# a comment\ntitle: 'Two'\n", 1, 3, "title"),
        ("formats: [atom]\nmax_items: 3\nmax_items: 4\n", 2, 3, "max_items"),  # outside the fast reader's subset
        ("\ufefftitle: One\ntitle: One\n", 1, 2, "title"),
        # Named by its whole path: a topic's name may also be a provider's.
        ("feeds:\n  topics:\n    AI: {max_items: 3}\n    AI: {max_items: 4}\n", 3, 4, "feeds.topics.AI"),
    ],
)
def test_a_key_given_twice_in_the_config_is_a_usage_error(
    tmp_path: Path, text: str, first: int, line: int, key: str
) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    code, _, err = _build(tmp_path, ["--config", str(config)])
    assert code == ExitCode.USAGE
    assert err == f"feedpub: {config}:{line}: {key}: is given twice (lines {first} and {line}); keep one\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("title: [unclosed\n", ":2: title: invalid YAML:"),
        ("title: &a x\nsubtitle: *a\n", ":1: anchors and aliases"),
        ("title: !!python/object:os.system x\n", ":1: title: the tag"),
        ("- a list\n", ": must hold a mapping of settings"),
        ("title: x\n\nsubtitle: \x01\n", ":3: the character '\\x01' cannot be written in YAML as it is"),
        ("title: x\ud7ff\ufffe\n", ":1: the character '\\ufffe' cannot be written in YAML as it is"),
    ],
)
def test_config_files_that_are_not_settings_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    code, _, err = _build(tmp_path, ["--config", str(config)])
    assert code == ExitCode.USAGE and err.startswith(f"feedpub: {config}{message}"), err
    assert err.count("\n") == 1


def test_a_config_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_bytes(b"title: caf\xe9\n")
    code, _, err = _build(tmp_path, ["--config", str(config)])
    assert code == ExitCode.USAGE and err.startswith(f"feedpub: {config}: cannot be read: it is not UTF-8")


@pytest.mark.parametrize("explicit", [True, False])
def test_a_fifo_as_the_config_is_refused_not_waited_on(tmp_path: Path, monkeypatch, explicit: bool) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo("feedpub.yaml")
    code, _, err = _build(tmp_path, ["--config", "feedpub.yaml"] if explicit else [])
    assert code == ExitCode.USAGE and err == "feedpub: feedpub.yaml: cannot be read: not a regular file\n"


# --- where the feeds go --------------------------------------------------------------------


@pytest.mark.parametrize(
    "records, output, message",
    [
        ("seeds", "seeds", "the output folder seeds is the records folder"),
        ("seeds", "seeds/.", "the output folder seeds is the records folder"),
        ("seeds", "seeds/feeds", "the output folder seeds/feeds is inside the records folder seeds"),
        ("seeds", "./seeds/a/b", "the output folder seeds/a/b is inside the records folder seeds"),
        ("site/seeds", "site", "the records folder site/seeds is inside the output folder site"),
        ("seeds", ".", "the records folder seeds is inside the output folder ."),
        ("seeds", "link", "the output folder link is the records folder"),  # through a symbolic link
        ("seeds", "link/out", "the output folder link/out is inside the records folder seeds"),
    ],
)
def test_output_and_records_folders_must_not_overlap(tmp_path: Path, monkeypatch, records, output, message) -> None:
    monkeypatch.chdir(tmp_path)
    Path(records).mkdir(parents=True)
    Path(records, "a.txt").write_text(record(), "utf-8")
    Path("link").symlink_to(Path(records).resolve())
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    err = io.StringIO()
    code = main(["build", records, "-o", output, *AS_OF], out=io.StringIO(), err=err)
    assert code == ExitCode.USAGE
    assert err.getvalue().startswith(f"feedpub: {message}") and err.getvalue().count("\n") == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing written, no cache either


@pytest.mark.parametrize("records, output", [("seeds", "feeds"), ("seeds", "seeds-feeds"), ("a/seeds", "a/feeds")])
def test_side_by_side_folders_are_fine(tmp_path: Path, records: str, output: str) -> None:
    assert folder_clash(Settings(records_dir=tmp_path / records, output_dir=tmp_path / output)) is None


def test_markup_characters_in_a_feed_title_read_back_as_written(tmp_path: Path) -> None:
    title = "Tom & Jerry <3 < b and &amp; co"  # "<b" would open a tag, as in a browser
    code, _, err = _build(tmp_path, [f"--title={title}"])
    _assert_clean_build_or_usage_error(tmp_path, "title", code, err, "--title")
    assert code == ExitCode.OK
    for name in ("all.atom.xml", "all.rss.xml", "topics/ai.rss.xml"):
        parsed = feedparser.parse((tmp_path / "out" / name).read_bytes())
        assert parsed.feed.title.startswith("Tom & Jerry <3 < b and & co"), name


# --- the settings table and the README -----------------------------------------------

# Settings the README's table does not list yet: adding the row there fails
# the test below until the key is taken out of here.
NOT_IN_README: tuple[str, ...] = ()


def _readme_settings_rows() -> list[tuple[list[str], list[str], list[str]]]:
    """The README's settings table: per row, its keys, options and defaults as written."""
    from tests.conftest import ROOT

    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    start = lines.index("| setting | option | default | meaning |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        keys, options, defaults = (cell.strip() for cell in line.strip("|").split("|")[:3])

        def items(cell: str) -> list[str]:  # "`a`, `b`, ..." or plain words
            return [
                (code or text).strip()
                for code, text in re.findall(r"`([^`]*)`|([^`,]+)", cell)
                if (code or text).strip()
            ]

        rows.append((items(keys), items(options), items(defaults)))
    return rows


def test_the_readme_lists_every_setting_in_the_tables_order() -> None:
    from feedpub.settings import SETTINGS

    listed = [key for keys, _, _ in _readme_settings_rows() for key in keys]
    assert listed == [s.key for s in SETTINGS if s.key not in NOT_IN_README]


def test_the_readme_gives_each_settings_options_and_default_as_the_table_does() -> None:
    from feedpub.settings import SETTINGS

    table = {s.key: s for s in SETTINGS}
    for keys, options, defaults in _readme_settings_rows():
        settings = [table[key] for key in keys]
        # An option is named by its first flag (-o for -o/--output), a positional by its metavar.
        assert options == [o.flags[0] if o.flags else o.metavar for s in settings for o in s.options], keys
        # "..." stands for the rest of the row's defaults.
        shown = defaults[:-1] if defaults[-1] == "..." else defaults
        assert shown == [s.shown for s in settings][: len(shown)], keys
        assert len(shown) == len(settings) or defaults[-1] == "...", keys


def test_every_setting_is_a_config_key_and_nothing_else_is() -> None:
    from feedpub.errors import ConfigError
    from feedpub.settings import SETTINGS, Settings, apply

    def as_written(value):  # as YAML gives it
        return list(value) if isinstance(value, tuple) else str(value) if isinstance(value, (Path, StrEnum)) else value

    keys = [s.key for s in SETTINGS]
    # Every default passes its own check, written in the config file as it is
    # (lists come back in the check's order).
    checked = apply(Settings(), {s.key: as_written(s.default) for s in SETTINGS}, "here")
    for s in SETTINGS:
        value = getattr(checked, s.key)
        assert (sorted(value) if isinstance(value, tuple) else value) == (
            sorted(s.default) if isinstance(s.default, tuple) else s.default
        ), s.key
    with pytest.raises(ConfigError) as caught:
        apply(Settings(), {"source": "x"}, "here")
    assert str(caught.value) == f"here: source: unknown setting (known: {', '.join(sorted(keys))})"
