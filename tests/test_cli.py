"""The command line, run in-process: exit codes, messages, summary."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from feedpub.cli import main
from feedpub.errors import ExitCode
from tests.conftest import ROOT, SEEDS, record


def run(*argv: str) -> tuple[int, str, str]:
    """main() in-process; its stdout is not a terminal, as under cron."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


AS_OF = ("--as-of", "2026-01-01T00:00:00Z")


def test_build_of_the_seeds_succeeds_with_a_summary(tmp_path: Path) -> None:
    code, out, err = run("build", str(SEEDS), "-o", str(tmp_path / "out"), "--verbose", *AS_OF)
    assert code == ExitCode.OK and err == ""
    assert out.startswith(
        "5 records read, 1 published, 4 skipped (4 unpublished); "
        "9 feeds, 21 files: 21 written, 0 unchanged, 0 removed\n"
        "  written   all.atom.xml: 1 item (+1 -0)\n"
    )
    assert (tmp_path / "out" / "all.atom.xml").is_file() and (tmp_path / "out" / "topics" / "ai.rss.xml").is_file()


def test_include_unpublished_flag(tmp_path: Path) -> None:
    code, out, _ = run("build", str(SEEDS), "-o", str(tmp_path / "out"), "--include-unpublished", "-v", *AS_OF)
    assert code == ExitCode.OK
    assert out.startswith("5 records read, 5 published, 0 skipped;")


def test_a_bad_record_is_reported_and_the_rest_published(records: Path, tmp_path: Path) -> None:
    (records / "good.txt").write_text(record(title="Good one"), "utf-8")
    (records / "bad.txt").write_text(record(title="Bad one", when="yesterday", url="https://example.com/b"), "utf-8")
    code, out, err = run("build", str(records), "-o", str(tmp_path / "out"), "-v", *AS_OF)
    assert code == ExitCode.REJECTED
    assert err == f"{records / 'bad.txt'}:3: publishedDateTime: 'yesterday' is not a date\n"
    assert "2 records read, 1 published, 1 skipped (1 rejected)" in out
    assert "Good one" in (tmp_path / "out" / "all.atom.xml").read_text("utf-8")


def test_warnings_go_to_stderr_without_failing(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(record(url="https://example.com/same"), "utf-8")
    (records / "b.txt").write_text(record(url="https://EXAMPLE.com/same"), "utf-8")
    code, out, err = run("build", str(records), "-o", str(tmp_path / "out"), "-v", *AS_OF)
    assert code == ExitCode.OK
    assert f"{records / 'b.txt'}: webUrl: warning: https://example.com/same is also in {records / 'a.txt'}" in err
    assert "1 published, 1 skipped (1 duplicate)" in out


def test_scheduled_records_are_held_back(records: Path, tmp_path: Path) -> None:
    (records / "now.txt").write_text(record(when="2025-12-31T00:00:00Z"), "utf-8")
    (records / "later.txt").write_text(record(when="2026-06-01T00:00:00Z", url="https://example.com/later"), "utf-8")
    code, out, _ = run("build", str(records), "-o", str(tmp_path / "out"), "-v", *AS_OF)
    assert code == ExitCode.OK
    assert "1 published, 1 skipped (1 scheduled)" in out
    code, out, _ = run("build", str(records), "-o", str(tmp_path / "out"), "-v", "--as-of", "2026-07-01T00:00:00Z")
    assert "2 published, 0 skipped" in out


def test_quiet_prints_nothing_when_all_is_well(tmp_path: Path) -> None:
    assert run("build", str(SEEDS), "-o", str(tmp_path / "out"), "--quiet", *AS_OF) == (0, "", "")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", "no-such-folder"], "no-such-folder: records folder does not exist"),
        (
            ["build", str(SEEDS / "000_d1c42bc3f6594a6c.txt")],
            "000_d1c42bc3f6594a6c.txt: is a file, not a records folder",
        ),
        (["build", "/dev/null"], "/dev/null: is a device, not a records folder"),
        (
            ["check", str(SEEDS / "000_d1c42bc3f6594a6c.txt")],
            "000_d1c42bc3f6594a6c.txt: is a file, not a records folder",
        ),
        (["build", str(SEEDS), "--base-url", "ftp://x.org/"], "base_url: 'ftp://x.org/': the scheme 'ftp'"),
        (["build", str(SEEDS), "--timezone", "Mars/Olympus"], "default_timezone: 'Mars/Olympus' is not an IANA"),
        (["build", str(SEEDS), "--max-items", "-1"], "max_items: -1 is not an item limit (a whole number, at least 1)"),
        (["build", str(SEEDS), "--formats", "atom,yaml"], "formats: 'yaml' is not a format"),
        (["build", str(SEEDS), "--as-of", "soon"], "--as-of: 'soon' is not a date"),
        (["build", str(SEEDS), "--config", "missing.yaml"], "missing.yaml: no such config file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], message: str, tmp_path: Path) -> None:
    code, out, err = run(*argv, *(["-o", str(tmp_path / "out")] if argv[0] == "build" else []))
    assert code == ExitCode.USAGE
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_config_file_errors_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text("titel: typo\n", "utf-8")
    code, _, err = run("build", str(SEEDS), "-c", str(config), "-o", str(tmp_path / "out"))
    assert code == ExitCode.USAGE
    assert err.startswith(f"feedpub: {config}: titel: unknown setting")


def test_config_file_sets_defaults_and_options_override(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(f"title: From config\nmax_items: 1\noutput_dir: {tmp_path / 'cfg-out'}\n", "utf-8")
    code, _, _ = run("build", str(SEEDS), "-c", str(config), "--include-unpublished", *AS_OF)
    assert code == ExitCode.OK
    text = (tmp_path / "cfg-out" / "all.atom.xml").read_text("utf-8")
    assert "<title>From config</title>" in text and text.count("<entry>") == 1
    code, _, _ = run("build", str(SEEDS), "-c", str(config), "--title", "From option", *AS_OF)
    assert "<title>From option</title>" in (tmp_path / "cfg-out" / "all.atom.xml").read_text("utf-8")


def test_unwritable_output_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", "utf-8")
    code, _, err = run("build", str(SEEDS), "-o", str(blocker), *AS_OF)
    assert code == ExitCode.OUTPUT and "cannot write" in err and err.count("\n") == 1


def test_help_lists_every_option_and_the_exit_codes() -> None:
    code, out, _ = run("build", "--help")
    assert code == 0
    for option in (
        "RECORDS_DIR",
        "--output",
        "--config",
        "--base-url",
        "--max-items",
        "--include-unpublished",
        "--timezone",
        "--ambiguous-dates",
        "--as-of",
        "--quiet",
    ):
        assert option in out
    assert "exit codes:" in out and "  3  " in out


def test_no_command_prints_help_and_exits_2() -> None:
    code, out, _ = run()
    assert code == ExitCode.USAGE and "build" in out


def test_python_dash_m_and_console_script_work(tmp_path: Path) -> None:
    script = str(Path(sys.executable).parent / "feedpub")
    for command in ([sys.executable, "-m", "feedpub", "--help"], [script, "--help"]):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0 and "feedpub" in done.stdout and "exit codes:" in done.stdout


def test_check_of_clean_records_and_feeds_passes_and_writes_nothing(tmp_path: Path) -> None:
    code, out, err = run("check", str(SEEDS), "--feeds", str(ROOT / "tests" / "golden"), *AS_OF)
    assert (code, err) == (ExitCode.OK, "")
    assert out == ("5 records checked, 1 publishable, 4 skipped (4 unpublished), 9 feed files checked; 0 problems\n")


def test_check_reports_bad_records_and_writes_nothing(records: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (records / "good.txt").write_text(record(), "utf-8")
    (records / "bad.txt").write_text("---\ntitle: [unclosed\n---\n", "utf-8")
    code, out, err = run("check", str(records), *AS_OF)
    assert code == ExitCode.REJECTED
    assert err.startswith(f"{records / 'bad.txt'}:3: title: invalid YAML: did not find expected ',' or ']'")
    assert "2 records checked, 1 publishable, 1 skipped (1 rejected); 1 problem\n" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records"]


def test_check_fails_on_warnings_too(records: Path) -> None:
    (records / "a.txt").write_text(record().replace("title: 'A title'", "title: Issue #5"), "utf-8")
    code, _, err = run("check", str(records), *AS_OF)
    assert code == ExitCode.REJECTED and "title: warning: YAML reads '#5' as a comment" in err


def test_check_reports_broken_feed_files(tmp_path: Path) -> None:
    bad = ROOT / "tests" / "data" / "feeds" / "InvalidRFC2822Date--utc-zone.rss.xml"
    code, _, err = run("check", str(SEEDS), "--feeds", str(bad), *AS_OF)
    assert code == ExitCode.REJECTED
    assert f"{bad}:11: InvalidRFC2822Date:" in err


def test_check_of_a_missing_feed_path_is_a_usage_error() -> None:
    code, _, err = run("check", str(SEEDS), "--feeds", "no/such/feeds", *AS_OF)
    assert code == ExitCode.USAGE and "no/such/feeds: no such feed file or folder" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_and_cron_does_not(tmp_path: Path, monkeypatch) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for n in range(1200):  # the bar shows from 1000 records to parse
        (records / f"{n}.txt").write_text(record(url=f"https://example.com/{n}"), "utf-8")
    out, err = _Terminal(), _Terminal()
    argv = ["build", str(records), "-o", str(tmp_path / "out"), "--no-cache", "--jobs", "1", *AS_OF]  # in-process
    code = main(argv, out=out, err=err)
    assert code == ExitCode.OK
    assert "parse [" in err.getvalue() and "1200/1200" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[K")  # the bar is cleared when done
    assert out.getvalue().startswith("1200 records read")  # a terminal gets the summary
    quiet_err = io.StringIO()
    main(["build", str(records), "-o", str(tmp_path / "out2"), "--no-cache", *AS_OF], out=io.StringIO(), err=quiet_err)
    assert quiet_err.getvalue() == ""


def test_counts_of_one_are_singular(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(record(), "utf-8")
    code, out, _ = run("build", str(records), "-o", str(tmp_path / "out"), "-v", "--formats", "atom", *AS_OF)
    assert code == ExitCode.OK
    assert out.startswith("1 record read, 1 published, 0 skipped; 2 feeds, 12 files: 12 written")
    assert "  written   all.atom.xml: 1 item (+1 -0)\n" in out and "items" not in out
    assert "  written   index.html\n" in out  # not a feed: no items


def test_check_accounts_for_every_skipped_record(records: Path) -> None:
    (records / "draft.txt").write_text(record(published=False), "utf-8")
    (records / "later.txt").write_text(record(when="2026-06-01T00:00:00Z", url="https://example.com/l"), "utf-8")
    (records / "bad.txt").write_text("---\ntitle: [x\n---\n", "utf-8")
    (records / "good.txt").write_text(record(url="https://example.com/g"), "utf-8")
    code, out, _ = run("check", str(records), *AS_OF)
    assert code == ExitCode.REJECTED
    assert out == "4 records checked, 1 publishable, 3 skipped (1 rejected, 1 scheduled, 1 unpublished); 1 problem\n"


def test_check_json_says_what_builds_json_says(records: Path, tmp_path: Path) -> None:
    import json

    (records / "draft.txt").write_text(record(published=False), "utf-8")
    (records / "good.txt").write_text(record(url="https://example.com/g"), "utf-8")
    (records / "bad.txt").write_text("---\ntitle: [x\n---\n", "utf-8")
    broken = ROOT / "tests" / "data" / "feeds" / "InvalidRFC2822Date--utc-zone.rss.xml"
    code, out, err = run("check", str(records), "--feeds", str(broken), "--json", *AS_OF)
    document = json.loads(out)
    assert code == document["exit_code"] == ExitCode.REJECTED
    assert (document["records"], document["published"]) == (3, 1)
    assert document["skipped"] == {"rejected": 1, "unpublished": 1}
    assert document["problems"] == [
        {"path": str(records / "bad.txt"), "line": 3, "field": "title", "severity": "error",
         "message": "invalid YAML: did not find expected ',' or ']'"},
    ]  # fmt: skip
    assert document["feed_files_checked"] == 1
    rendered = [feed for feed in document["feeds"] if feed["rendered"]]
    assert [feed["path"] for feed in rendered] == [
        "all.atom.xml", "all.json", "all.rss.xml", "topics/ai.atom.xml", "topics/ai.json", "topics/ai.rss.xml",
    ]  # fmt: skip
    assert all(feed["findings"] == [] for feed in rendered)
    (read,) = [feed for feed in document["feeds"] if not feed["rendered"]]
    assert read["path"] == str(broken) and {f["rule"] for f in read["findings"]} == {"InvalidRFC2822Date"}
    assert read["findings"][0]["line"] == 11
    # Each finding is on stderr too, as without --json.
    assert f"{broken}:11: InvalidRFC2822Date:" in err


def test_check_verbose_lists_each_feed_and_help_says_so(tmp_path: Path) -> None:
    code, out, _ = run("check", str(SEEDS), "--feeds", str(ROOT / "tests" / "golden"), "-v", *AS_OF)
    assert code == ExitCode.OK
    assert "  0 problems  (rendered) all.atom.xml\n" in out
    assert f"  0 problems  {ROOT / 'tests' / 'golden' / 'all.rss.xml'}\n" in out
    _, check_help, _ = run("check", "--help")
    _, build_help, _ = run("build", "--help")
    assert "what changed in each feed" in " ".join(build_help.split())
    assert "what changed" not in check_help
    assert "each feed checked, with its number of problems" in " ".join(check_help.split())


@pytest.mark.parametrize("given", ["folder", "file"])
def test_check_reports_a_fifo_among_the_feeds_and_does_not_wait(tmp_path: Path, given: str) -> None:
    import os
    import shutil

    feeds = tmp_path / "feeds"
    shutil.copytree(ROOT / "tests" / "golden", feeds)
    fifo = feeds / "topics" / "waiting.atom.xml"
    os.mkfifo(fifo)
    target = feeds if given == "folder" else fifo
    code, out, err = run("check", str(SEEDS), "--feeds", str(target), *AS_OF)
    assert code == ExitCode.REJECTED
    assert err == f"{fifo}:1: Unreadable: cannot be read: not a regular file\n"
    assert out.endswith("feed files checked; 1 problem\n" if given == "folder" else "1 feed file checked; 1 problem\n")


def test_check_reads_no_more_of_a_feed_than_the_validator_would(tmp_path: Path) -> None:
    """A feed file of gigabytes (sparse: it costs no disk) is reported with its
    real size after reading a bounded part of it, not loaded whole."""
    import os
    import resource

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    with open(feeds / "huge.atom.xml", "wb") as file:
        file.truncate(3 << 30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = run("check", str(SEEDS), "--feeds", str(feeds), *AS_OF)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert code == ExitCode.REJECTED
    assert err == (
        f"{feeds / 'huge.atom.xml'}:1: ValidatorLimit: the feed is 3,221,225,472 bytes;"
        " the validator reads no more than 2,000,000\n"
    )
    assert grown_kb < 200_000
    assert os.path.getsize(feeds / "huge.atom.xml") == 3 << 30


def test_a_config_file_is_read_only_up_to_a_limit(tmp_path: Path) -> None:
    config = tmp_path / "feedpub.yaml"
    with open(config, "wb") as file:
        file.truncate(3 << 30)
    code, _, err = run("build", str(SEEDS), "-c", str(config), "-o", str(tmp_path / "out"))
    assert code == ExitCode.USAGE
    assert err == f"feedpub: {config}: cannot be read: is 3,221,225,472 bytes, over the limit of 1,048,576\n"


def test_check_reports_a_feed_it_cannot_read_and_checks_the_others(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "a.atom.xml").write_bytes((ROOT / "tests" / "golden" / "all.atom.xml").read_bytes())
    (feeds / "dangling.rss.xml").symlink_to(tmp_path / "nowhere")
    code, out, err = run("check", str(SEEDS), "--feeds", str(feeds), *AS_OF)
    assert code == ExitCode.REJECTED
    assert err == f"{feeds / 'dangling.rss.xml'}:1: Unreadable: cannot be read: No such file or directory\n"
    assert "2 feed files checked; 1 problem" in out


def test_check_lists_feed_files_of_any_name_escaped_one_line_each(tmp_path: Path) -> None:
    """A feed file's name that is not UTF-8 or holds a line break is shown
    escaped in the -v list and in --json, as in every message."""
    import json
    import os

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    golden = (ROOT / "tests" / "golden" / "all.atom.xml").read_bytes()
    for name in (b"caf\xe9.atom.xml", b"new\nline.atom.xml"):
        with open(os.fsencode(feeds) + b"/" + name, "wb") as file:
            file.write(golden)
    code, out, _ = run("check", str(SEEDS), "--feeds", str(feeds), "-v", *AS_OF)
    assert code == ExitCode.OK
    assert f"  0 problems  {feeds}/caf\\xe9.atom.xml\n" in out
    assert f"  0 problems  {feeds}/new\\nline.atom.xml\n" in out
    code, out, _ = run("check", str(SEEDS), "--feeds", str(feeds), "--json", *AS_OF)
    paths = [feed["path"] for feed in json.loads(out)["feeds"] if not feed["rendered"]]
    assert paths == [f"{feeds}/caf\\xe9.atom.xml", f"{feeds}/new\\nline.atom.xml"]


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_json_and_messages_survive_a_narrow_locale(tmp_path: Path, encoding: str) -> None:
    """Under a C locale or a Latin-1 terminal, non-ASCII and undecodable file
    names in messages and JSON neither crash the run nor are lost."""
    import json
    import os
    import shutil

    records = tmp_path / "records \u03a9"
    shutil.copytree(SEEDS, records)
    (records / "bad \u2603 caf\u00e9.txt").write_text("---\ntitle: [\u00e9\n---\n", "utf-8")
    feeds = os.fsencode(tmp_path) + b"/feeds \xff\xfe"  # a folder name that is not UTF-8
    os.makedirs(feeds)
    shutil.copy(ROOT / "tests" / "golden" / "all.atom.xml", feeds + b"/\xe9t\xe9.atom.xml")
    os.mkfifo(feeds + b"/fifo \xff.rss.xml")
    # (The C locale puts Python in UTF-8 mode for file names; the streams get
    # the narrow encoding a terminal of that kind has.)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": encoding}
    env.pop("PYTHONUTF8", None)
    script = str(Path(sys.executable).parent / "feedpub")

    def feedpub(*argv: str | bytes) -> subprocess.CompletedProcess:
        return subprocess.run([script, *argv, *AS_OF], cwd=tmp_path, env=env, capture_output=True, timeout=120)

    built = feedpub("build", str(records), "-o", "out \u03a9", "--json", "-v")
    assert built.returncode == ExitCode.REJECTED and b"Traceback" not in built.stderr
    document = json.loads(built.stdout.decode("ascii"))  # ASCII whatever the locale
    assert document["problems"][0]["path"] == str(records / "bad \u2603 caf\u00e9.txt")
    assert document["exit_code"] == ExitCode.REJECTED and (tmp_path / "out \u03a9" / "all.atom.xml").is_file()
    assert built.stderr.startswith(f"{records}/bad \u2603 caf\u00e9.txt:3: ".encode(encoding, "backslashreplace"))

    for extra in (["--json"], ["-v"]):
        checked = feedpub("check", str(records), "--feeds", feeds, *extra)
        assert checked.returncode == ExitCode.REJECTED and b"Traceback" not in checked.stderr
        assert b"not a regular file" in checked.stderr
        if extra == ["--json"]:
            document = json.loads(checked.stdout.decode("ascii"))
            # Escaped as in the findings beside them: one spelling per file, valid UTF-8.
            paths = [feed["path"] for feed in document["feeds"] if not feed["rendered"]]
            folder = f"{tmp_path}/feeds \\xff\\xfe"
            assert paths == [f"{folder}/fifo \\xff.rss.xml", f"{folder}/\\xe9t\\xe9.atom.xml"]
            assert document["feeds"][-2]["findings"][0]["path"] == paths[0]
        else:
            assert b"\\xff\\xfe/\\xe9t\\xe9.atom.xml\n" in checked.stdout  # escaped, still named
    missing = feedpub("build", str(records), "-c", os.fsencode(tmp_path) + b"/conf \xff.yaml")
    assert missing.returncode == ExitCode.USAGE
    assert missing.stderr.endswith(b"/conf \\udcff.yaml: no such config file\n")


def test_make_echoes_no_comment_lines() -> None:
    import shutil

    make = shutil.which("make")
    assert make is not None, "make is needed to hold the Makefile to this"
    for target in ("feeds", "test", ".venv/bin/feedpub"):
        done = subprocess.run([make, "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
        commands = done.stdout.splitlines()
        assert commands and not [line for line in commands if line.lstrip().startswith("#")], done.stdout


@pytest.mark.parametrize("command", ["build", "check"])
def test_help_gives_each_settings_options_as_the_table_does(command: str) -> None:
    from feedpub.settings import SETTINGS

    _, out, _ = run(command, "--help")
    text = " ".join(out.split())
    for setting in SETTINGS:
        for option in setting.options:
            helped = " ".join(option.help.split())
            assert (helped in text) == (command in option.commands), helped
            if command in option.commands:
                assert all(name in text for name in option.flags or (option.metavar,)), helped
            if "default" in option.help:
                assert setting.shown in option.help, setting.key


def test_each_settings_option_sets_it() -> None:
    from feedpub.cli import _parser
    from feedpub.settings import SETTINGS

    parser = _parser()
    for setting in SETTINGS:
        for option in setting.options:
            value = [] if option.action else [option.choices[-1] if option.choices else "7"]
            args = parser.parse_args(["build", *option.flags[:1], *value])
            expected = option.const if option.action == "store_const" else True if option.action else value[0]
            given = getattr(args, setting.key)
            assert given == (option.type(expected) if option.type else expected), setting.key
