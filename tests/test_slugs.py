"""Topic slugs: one file per topic, whatever the names, decided by the set of names alone."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from unittest import mock

import feedparser
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub import plan
from feedpub.pipeline import build
from feedpub.plan import topic_slugs
from feedpub.records.text import slugify, topic_key
from tests.conftest import AS_OF, make_settings, record

SLUG = re.compile(r"[a-z0-9]+(?:--?[a-z0-9]+)*")
WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}
# The longest name feedpub gives a file for a slug: a temporary of its Atom feed.
LONGEST_FILE_NAME = ".{}.atom.xml.abcdefgh.feedpub.tmp"
SETTINGS = hsettings(max_examples=300, derandomize=True, deadline=None, database=None)


def check_slugs(keys: list[str], slugs: dict[str, str]) -> None:
    assert set(slugs) == set(keys)
    assert len(set(slugs.values())) == len(slugs), "two topics share a slug"
    for slug in slugs.values():
        assert SLUG.fullmatch(slug), slug
        assert slug not in WINDOWS_DEVICES, slug
        assert len(LONGEST_FILE_NAME.format(slug).encode()) <= 255, slug


def attackers(keys: list[str], slugs: dict[str, str]) -> list[str]:
    """Names made to collide: other spellings of each slug, each slug itself, and the
    slug each key would get under a plain "-" suffix (the old rule) or the "--" one."""
    made = []
    for key, slug in slugs.items():
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        made += [slug, slug.upper(), slug.replace("-", " "), slug.replace("-", "."), f"{slug}-{digest[:8]}"]
        made += [f"{slugify(key)[:51]}-{digest[:8]}", f"{slugify(key)[:50]}--{digest[:8]}", f"{key}!"]
    return [topic_key(name) for name in made]


names = st.text(st.sampled_from("aAi .-_/\\:!x9ßÄä人€\u3000\u212a") | st.characters(codec="utf-8"), max_size=80).map(
    topic_key
)


@SETTINGS
@given(st.lists(names, max_size=12), st.randoms(use_true_random=False))
@example(["a i", "a.i", "a-i-" + hashlib.sha256(b"a.i").hexdigest()[:8]], None)
@example(["", "topic", "!!!", "con", "con topic", "nul-topic"], None)
@example(["x" * 300, "x" * 301, "x" * 60 + "y", "x" * 61], None)
def test_slugs_are_distinct_file_names_whatever_the_names(keys: list[str], rnd) -> None:
    first = topic_slugs(keys)
    check_slugs(keys, first)
    grown = keys + attackers(keys, first)
    slugs = topic_slugs(grown)
    check_slugs(grown, slugs)
    again = attackers(grown, slugs)
    check_slugs(grown + again, topic_slugs(grown + again))
    # Depends on the set alone: order and repetition change nothing.
    if rnd is not None:
        shuffled = grown * 2
        rnd.shuffle(shuffled)
        assert topic_slugs(shuffled) == slugs


def _weak_digest(key: str) -> str:
    """A digest whose first 20 hex digits say little: digests of one base share long prefixes."""
    real = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return "0" * 20 + real[20:] if int(real[0], 16) < 12 else "0" * 19 + real[19:]


@SETTINGS
@given(st.lists(st.sampled_from(["a i", "a.i", "a:i", "a/i", "A_I", "a  i", "a!i", "a€i"]) | names, max_size=16))
def test_slugs_stay_distinct_when_digests_share_a_prefix(keys: list[str]) -> None:
    with mock.patch.object(plan, "_slug_digest", _weak_digest):
        slugs = topic_slugs(keys)
        check_slugs(keys, slugs)
    suffixed = {key: slug.partition("--") for key, slug in slugs.items() if "--" in slug}
    for key, (base, _, digest) in suffixed.items():
        assert _weak_digest(key).startswith(digest)
        # As short as it can be: one digit less and it would be another key's of the same base.
        if len(digest) > 8:
            assert any(
                _weak_digest(other).startswith(digest[:-1])
                for other, (other_base, _, _) in suffixed.items()
                if other != key and other_base == base
            ), (key, digest)


def test_the_first_by_code_point_keeps_the_readable_slug() -> None:
    digest = hashlib.sha256(b"a.i").hexdigest()[:8]
    slugs = topic_slugs(["a.i", "a i", f"a-i-{digest}"])
    assert slugs == {"a i": "a-i", "a.i": f"a-i--{digest}", f"a-i-{digest}": f"a-i-{digest}"}


def test_topics_of_one_slug_each_get_their_own_feed(records, tmp_path) -> None:
    """Names whose slugs clash, built: each topic's feed holds its own articles and no other's."""
    digest = hashlib.sha256(b"a.i").hexdigest()[:8]
    names = ["a i", "a.i", f"a-i-{digest}", "a-i", "A I", "topic", "", "con"]
    for n, name in enumerate(names):
        url = f"https://example.com/{n}"
        (records / f"{n}.txt").write_text(record(title=f"Article {n}", url=url, topics=(name,)), "utf-8")
    out = tmp_path / "out"
    build(dataclasses.replace(make_settings(), records_dir=records, output_dir=out), as_of=AS_OF)
    feeds = sorted((out / "topics").glob("*.atom.xml"))
    titles = {path.name: sorted(e.title for e in feedparser.parse(path.read_bytes()).entries) for path in feeds}
    # "A I" is a spelling of "a i"; "" is no topic; every other name has its own feed.
    assert titles == {
        "a-i.atom.xml": ["Article 0", "Article 4"],
        f"a-i--{digest}.atom.xml": ["Article 1"],
        f"a-i-{digest}.atom.xml": ["Article 2"],
        f"a-i--{hashlib.sha256(b'a-i').hexdigest()[:8]}.atom.xml": ["Article 3"],
        "topic.atom.xml": ["Article 5"],
        "con-topic.atom.xml": ["Article 7"],
    }
