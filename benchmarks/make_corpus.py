"""Write a deterministic synthetic corpus of feedpub article records.

Usage::

    python benchmarks/make_corpus.py N DIR [--force] [--topics T]
    python -m benchmarks.make_corpus N DIR [--force] [--topics T]

writes N record files named ``{index:06d}_{16 hex digits}.txt`` into DIR
(created if missing), shaped like the sample records in ``seeds/``: one YAML
document between ``---`` lines with category, title, excerpt,
publishedDateTime, originalUrl, webUrl, optional ampWebUrl/cdnAmpWebUrl, type,
quality, heat, published, provider, topics, images, related and a long
base64 ``secured`` string.  It is meant for timing ``feedpub build`` on
large folders, e.g.::

    python benchmarks/make_corpus.py 100000 /tmp/corpus-100k
    time feedpub build /tmp/corpus-100k -o /tmp/feeds-100k

Properties:

- Deterministic: the same N gives byte-identical files on every run and
  machine.  Nothing depends on the clock, the environment or hash order.
- Record i depends on i alone (its random generator is seeded with
  ``"feedpub-corpus-{i}"``), so the first 1000 files of a 100k corpus are the
  1k corpus.
- Each file is 1536 to 4500 bytes (1.5 KiB to 4.5 kB); the length of
  ``secured`` is adjusted to land in that range.
- About 20 topics with a Zipf-like spread (1 to 4 per record), 0 to 3
  related articles, 0 to 2 images, about 10 % ``published: false``, publish
  times from 2019-01-01 to 2024-12-31 to the second, a unique webUrl per
  record on 30 provider domains.  Titles and excerpts come from a built-in
  word list (plain ASCII plus a few words with curly apostrophes, and now and
  then a quoted phrase, so the escaping is exercised) and are always written
  double-quoted; the fixed vocabulary (category, type, provider, topics) is
  written unquoted, as in the real records.
- ``--topics T`` (T > 0) gives record i one more topic, ``Topic {i % T}``
  (zero-padded), ahead of its usual ones: with N >= T, the folder has T + 20
  topics and as many topic feeds, for timing builds of many feeds.  The other
  fields, and the files of a corpus without it, are the same.

DIR must be empty or missing unless ``--force`` is given; with ``--force``
files of the same name are overwritten and other files are left alone (a
note on stderr says how many).  Exit codes: 0 done, 2 usage error or DIR not
empty.  Only the standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta

MIN_BYTES = 1536  # 1.5 KiB
MAX_BYTES = 4500  # 4.5 kB (also below 4.5 KiB)

_START = datetime(2019, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = int((datetime(2025, 1, 1, tzinfo=UTC) - _START).total_seconds())  # to 2024-12-31T23:59:59Z
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

RSQ = "\u2019"  # right single quotation mark, the curly apostrophe

# About 20 topics; weight 1/rank gives the skewed (Zipf-like) spread.
TOPICS = (
    "AI",
    "Machine Learning",
    "Computer Vision",
    "Generative AI",
    "Large Language Models",
    "Natural Language Processing",
    "Robotics",
    "AI Regulation",
    "Deep Learning",
    "Autonomous Vehicles",
    "AI Ethics",
    "Data Science",
    "Cybersecurity",
    "Speech Recognition",
    "AI Chips",
    "Healthcare AI",
    "Reinforcement Learning",
    "Edge Computing",
    "Quantum Computing",
    "Recommender Systems",
)
_TOPIC_CUM: list[float] = []
for _rank in range(len(TOPICS)):
    _TOPIC_CUM.append((_TOPIC_CUM[-1] if _TOPIC_CUM else 0.0) + 1.0 / (_rank + 1))

# 30 providers: (name, domain).
PROVIDERS = (
    ("Computer Weekly", "computerweekly.com"),
    ("The Financial Times", "ft.com"),
    ("The Guardian", "theguardian.com"),
    ("Forbes", "forbes.com"),
    ("Biometric Companies", "biometricupdate.com"),
    ("news.bloomberglaw", "bloomberglaw.com"),
    ("Firstpost", "firstpost.com"),
    ("AWS", "aws.amazon.com"),
    ("Reuters", "reuters.com"),
    ("The Verge", "theverge.com"),
    ("Wired", "wired.com"),
    ("TechCrunch", "techcrunch.com"),
    ("Ars Technica", "arstechnica.com"),
    ("VentureBeat", "venturebeat.com"),
    ("ZDNet", "zdnet.com"),
    ("MIT Technology Review", "technologyreview.com"),
    ("BBC News", "bbc.co.uk"),
    ("The New York Times", "nytimes.com"),
    ("The Register", "theregister.com"),
    ("Engadget", "engadget.com"),
    ("CNBC", "cnbc.com"),
    ("Axios", "axios.com"),
    ("IEEE Spectrum", "spectrum.ieee.org"),
    ("Nature", "nature.com"),
    ("Bloomberg", "bloomberg.com"),
    ("The Next Web", "thenextweb.com"),
    ("InfoWorld", "infoworld.com"),
    ("Silicon Republic", "siliconrepublic.com"),
    ("Towards Data Science", "towardsdatascience.com"),
    ("Analytics India Magazine", "analyticsindiamag.com"),
)
_HOSTS = tuple(
    domain if domain.count(".") >= 2 and not domain.endswith(".co.uk") else "www." + domain for _, domain in PROVIDERS
)

SECTIONS = ("news", "technology", "business", "science", "world", "analysis", "blogs", "uk-news", "tech")

# The word list for titles and excerpts: no digits (so the "-{id}" ending of a
# URL slug is unambiguous) and nothing YAML would read specially.
WORDS = (
    """
    police facial recognition technology government minister report use public data privacy system
    model models training researchers research company companies industry market startup startups
    funding investment billion million new latest first major global national local city cities
    law laws rules regulation regulators policy policies plan plans strategy approach framework
    cameras camera video images image surveillance security safety risk risks threat threats
    accuracy bias fairness transparency accountability oversight audit trust consent rights
    chatbot chatbots assistant assistants language text speech voice translation search engine
    chip chips hardware software cloud platform service services tool tools app apps device devices
    robot robots drone drones vehicle vehicles car cars driving factory warehouse logistics
    health hospital hospitals doctors patients diagnosis drug drugs medicine clinical trial trials
    school schools students teachers education jobs workers workforce employers hiring skills
    energy climate power grid emissions carbon computing compute cluster servers datacentre
    network networks neural deep learning machine intelligence artificial generative open source
    code developers engineers engineering product products launch launches release update version
    users customers people consumers citizens communities groups experts critics activists officials
    says said warns warned pushes pushed seeks wants plans expands expanded tests tested deploys
    deployed builds built unveils unveiled announces announced backs backed rejects rejected bans
    banned calls called raises raised cuts cut adds added faces faced could would should may might
    will can must more less most fewer better worse faster slower bigger smaller cheaper safer
    across within without despite after before during amid over under against between through
    about around toward into onto from with for and but or yet so because while when where how why
    what which who this that these those its their our your the a an of in on at to by as is are
    was were be been being has have had not only also even still already again now soon today
    year years month months week weeks day days time future past decade history record growth
    europe britain america china india japan germany france canada australia africa asia
    london brussels washington beijing california silicon valley
    """.split()
    + ["UK", "US", "EU", "UN", "Google", "Microsoft", "OpenAI", "Nvidia", "Amazon", "Meta", "Apple", "IBM"]
    + [
        f"government{RSQ}s",
        f"company{RSQ}s",
        f"industry{RSQ}s",
        f"world{RSQ}s",
        f"it{RSQ}s",
        f"doesn{RSQ}t",
        f"can{RSQ}t",
        f"researchers{RSQ}",
    ]
)
_CAPITALISE = frozenset({"europe", "britain", "america", "china", "india", "japan", "germany", "france", "canada"})
_CAPITALISE |= {"australia", "africa", "asia", "london", "brussels", "washington", "beijing", "california"}
WORDS = tuple(w.capitalize() if w in _CAPITALISE else w for w in WORDS)

_TITLE_SUFFIXES = (" (Podcast)", " (Video)", " (Opinion)", " (Analysis)")
_IMAGE_WIDTHS = (620, 640, 800, 958, 1024, 1200, 1280, 1584, 1600, 2048)
_IMAGE_RATIOS = (0.5625, 0.6, 0.61, 0.6667, 0.75)

_PLAIN_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9 .-]*[A-Za-z0-9]\Z")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def _check_vocabulary() -> None:
    """The values written unquoted must read back as the same strings."""
    for value in (*TOPICS, *(n for n, _ in PROVIDERS), *(d for _, d in PROVIDERS)):
        if not _PLAIN_SAFE.match(value) or value.lower() in _YAML_WORDS:
            raise AssertionError(f"{value!r} cannot be written as a plain YAML scalar")


def q(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (the text has no control characters)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _when(rng: random.Random) -> datetime:
    return _START + timedelta(seconds=rng.randrange(_SPAN_SECONDS))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _words(rng: random.Random, count: int) -> list[str]:
    return rng.choices(WORDS, k=count)


def _capitalised(words: list[str]) -> list[str]:
    first = words[0]
    words[0] = first[0].upper() + first[1:]
    return words


def _title(rng: random.Random) -> str:
    words = _capitalised(_words(rng, rng.randint(5, 12)))
    roll = rng.random()
    if roll < 0.05:  # a quoted phrase, to exercise the escaping
        at = rng.randrange(1, len(words))
        words[at] = '"' + words[at]
        words[-1] += '"'
    elif roll < 0.10:
        words[-1] += ":"
        words.extend(_capitalised(_words(rng, rng.randint(2, 5))))
    text = " ".join(words)
    if rng.random() < 0.04:
        text += _TITLE_SUFFIXES[rng.randrange(len(_TITLE_SUFFIXES))]
    return text


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = _capitalised(_words(rng, rng.randint(low, high)))
    roll = rng.random()
    if roll < 0.30 and len(words) > 6:
        words[rng.randrange(2, len(words) - 2)] += ","
    elif roll < 0.38 and len(words) > 6:  # a straight-quoted phrase
        start = rng.randrange(1, len(words) - 3)
        words[start] = '"' + words[start]
        words[start + 2] += '"'
    elif roll < 0.43 and len(words) > 6:  # a curly-quoted phrase, as scraped text has
        start = rng.randrange(1, len(words) - 3)
        words[start] = "\u201c" + words[start]
        words[start + 2] += "\u201d"
    return " ".join(words) + "."


def _excerpt(rng: random.Random, low: int, high: int, sentences: int) -> str:
    text = " ".join(_sentence(rng, low, high) for _ in range(rng.randint(1, sentences)))
    if rng.random() < 0.10:  # cut off by the source, as in "... co-authored by ..."
        text = text[:-1] + " ..."
    return text


def _slug(title: str, limit: int = 80) -> str:
    slug = _SLUG_DROP.sub("-", title.replace(RSQ, "").lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _url(rng: random.Random, provider: int, moment: datetime, title: str, ident: int) -> str:
    """A URL on the provider's site, unique through ``ident``."""
    host = _HOSTS[provider]
    section = SECTIONS[rng.randrange(len(SECTIONS))]
    slug = _slug(title)
    style = provider % 6
    if style == 0:  # computerweekly.com/news/366537695/Home-Office-pushes-...
        words = "-".join(w.capitalize() for w in slug.split("-"))
        return f"https://{host}/{section}/{300000000 + ident}/{words}"
    if style == 1:  # ft.com/content/b8477e16-349d-442d-8e69-59b328ba9189
        tail = _hex(rng, 24)
        return f"https://{host}/content/{ident:08x}-{tail[:4]}-{tail[4:8]}-{tail[8:12]}-{tail[12:]}"
    if style == 2:  # theguardian.com/uk-news/2023/may/16/ministers-calling-...
        return f"https://{host}/{section}/{moment.year}/{_MONTHS[moment.month - 1]}/{moment.day:02d}/{slug}-{ident}"
    if style == 3:  # firstpost.com/tech/news-analysis/...-13065232.html
        return f"https://{host}/{section}/{slug}-{ident}.html"
    if style == 4:  # biometricupdate.com/202305/policing-minister-...
        return f"https://{host}/{moment.year}{moment.month:02d}/{slug}-{ident}"
    return f"https://{host}/blogs/{section}/{slug}-{ident}/"  # aws.amazon.com/blogs/machine-learning/.../


def _amp_lines(rng: random.Random, url: str, indent: str) -> list[str]:
    """ampWebUrl and cdnAmpWebUrl for ``url``, in the two spellings the seeds show."""
    rest = url[len("https://") :]
    host, _, path = rest.partition("/")
    if host.startswith("www.") and rng.random() < 0.5:
        amp_host, amp_path = "amp." + host[4:], path
    else:
        amp_host, amp_path = host, path.rstrip("/") + "/amp"
    amp = f"https://{amp_host}/{amp_path}"
    cdn_host = amp_host.replace("-", "--").replace(".", "-") + ".cdn.ampproject.org"
    cdn = f"https://{cdn_host}/c/s/{amp_host}/{amp_path}"
    return [f"{indent}ampWebUrl: {q(amp)}", f"{indent}cdnAmpWebUrl: {q(cdn)}"]


def _image_lines(rng: random.Random, provider: int, moment: datetime, indent: str) -> list[str]:
    domain = PROVIDERS[provider][1]
    host = ("images.", "cdn.", "media.", "static.")[provider % 4] + domain
    url = f"https://{host}/uploads/{moment.year}/{moment.month:02d}/{_hex(rng, 12)}.jpg"
    if rng.random() < 0.2:
        url += f"?width=620&quality=85&auto=format&fit=max&s={_hex(rng, 32)}"
    width = _IMAGE_WIDTHS[rng.randrange(len(_IMAGE_WIDTHS))]
    height = int(width * _IMAGE_RATIOS[rng.randrange(len(_IMAGE_RATIOS))] + 0.5)
    cached = "true" if rng.random() < 0.9 else "false"
    return [
        f"{indent}- url: {q(url)}",
        f"{indent}  width: {width}",
        f"{indent}  height: {height}",
        f"{indent}  isCached: {cached}",
    ]


def _provider_lines(provider: int, indent: str) -> list[str]:
    name, domain = PROVIDERS[provider]
    return [f"{indent}provider:", f"{indent}  name: {name}", f"{indent}  domain: {domain}"]


def _topics(rng: random.Random) -> list[str]:
    count = (1, 1, 1, 2, 2, 2, 2, 3, 3, 4)[rng.randrange(10)]
    chosen: list[str] = []
    while len(chosen) < count:
        topic = rng.choices(TOPICS, cum_weights=_TOPIC_CUM)[0]
        if topic not in chosen:
            chosen.append(topic)
    return chosen


def _related_block(rng: random.Random, index: int, k: int, moment: datetime) -> str:
    provider = rng.randrange(len(PROVIDERS))
    when = moment + timedelta(seconds=rng.randrange(-3 * 86400, 3 * 86400))
    when = min(max(when, _START), _START + timedelta(seconds=_SPAN_SECONDS - 1))
    title = _title(rng)
    url = _url(rng, provider, when, title, 4 * index + k + 1)
    lines = [
        f"  - title: {q(title)}",
        f"    excerpt: {q(_excerpt(rng, 8, 18, 2))}",
        f"    publishedDateTime: {_stamp(when)}",
        f"    webUrl: {q(url)}",
    ]
    if rng.random() < 0.25:
        lines += _amp_lines(rng, url, "    ")
    lines.append("    type: article")
    lines += _provider_lines(provider, "    ")
    lines.append(f"    quality: {rng.randint(1, 99)}")
    if rng.random() < 0.5:
        lines.append("    images:")
        lines += _image_lines(rng, provider, when, "      ")
    return "\n".join(lines) + "\n"


def _secured_chars(nbytes: int) -> int:
    return 4 * ((nbytes + 2) // 3)


def record(index: int, topics: int = 0) -> tuple[str, bytes]:
    """(file name, file bytes) of record ``index``; depends on ``index`` (and
    ``topics``: the number of extra topics the corpus spreads records over) alone."""
    rng = random.Random(f"feedpub-corpus-{index}")
    name = f"{index:06d}_{_hex(rng, 16)}.txt"

    provider = rng.randrange(len(PROVIDERS))
    moment = _when(rng)
    title = _title(rng)
    url = _url(rng, provider, moment, title, 4 * index)
    published = rng.random() >= 0.10
    heat = rng.randint(1, 100) if published and rng.random() < 0.7 else -1

    head = [
        "---",
        "category: news",
        f"title: {q(title)}",
        f"excerpt: {q(_excerpt(rng, 10, 24, 3))}",
        f"publishedDateTime: {_stamp(moment)}",
        f"originalUrl: {q(url)}",
        f"webUrl: {q(url)}",
    ]
    if rng.random() < 0.25:
        head += _amp_lines(rng, url, "")
    head += [
        "type: article",
        f"quality: {rng.randint(1, 99)}",
        f"heat: {heat}",
        f"published: {'true' if published else 'false'}",
        "",
    ]
    head += _provider_lines(provider, "")
    if rng.random() < 0.15:  # the provider's logo, as in seeds/002
        domain = PROVIDERS[provider][1]
        head += [
            "  images:",
            f'    - url: "https://everyday-cc.github.io/ai/assets/images/organizations/{domain}-50x50.jpg"',
            "      width: 50",
            "      height: 50",
        ]
    extra = [f"Topic {index % topics:06d}"] if topics else []
    head += ["", "topics:"] + [f"  - {topic}" for topic in extra + _topics(rng)] + [""]
    image_count = (0, 1, 1, 1, 1, 1, 1, 1, 2, 2)[rng.randrange(10)]
    if image_count:
        head.append("images:")
        for _ in range(image_count):
            head += _image_lines(rng, provider, moment, "  ")
        head.append("")
    body = "\n".join(head) + "\n"

    related_count = (0, 0, 1, 1, 1, 1, 2, 2, 2, 3)[rng.randrange(10)]
    related = [_related_block(rng, index, k, moment) for k in range(related_count)]

    # secured: "<base64 of 16n bytes>;<base64 of 16 bytes>", sized so the file lands in range.
    nbytes = 16 * rng.randint(14, 26)
    fixed_tail = len('secured: ";') + 24 + len('"\n---\n\n')
    while True:
        text = body + ("related:\n" + "".join(related) + "\n" if related else "")
        fixed = len(text.encode("utf-8")) + fixed_tail
        total = fixed + _secured_chars(nbytes)
        if MIN_BYTES <= total <= MAX_BYTES:
            break
        if total < MIN_BYTES:
            target = rng.randint(MIN_BYTES, MIN_BYTES + 1000)
        else:
            target = rng.randint(MAX_BYTES - 1000, MAX_BYTES)
        nbytes = max(128, (target - fixed) * 3 // 4 // 16 * 16)
        while fixed + _secured_chars(nbytes) < MIN_BYTES:
            nbytes += 16
        while nbytes > 128 and fixed + _secured_chars(nbytes) > MAX_BYTES:
            nbytes -= 16
        if fixed + _secured_chars(nbytes) <= MAX_BYTES:
            break
        if not related:  # cannot happen with the lengths above; never write a file out of range
            raise AssertionError(f"record {index} is {fixed + _secured_chars(nbytes)} bytes")
        related.pop()  # too long even with the shortest secured string
    secured = base64.b64encode(rng.getrandbits(8 * nbytes).to_bytes(nbytes, "little")).decode("ascii")
    iv = base64.b64encode(rng.getrandbits(128).to_bytes(16, "little")).decode("ascii")
    text += f'secured: "{secured};{iv}"\n---\n\n'
    return name, text.encode("utf-8")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make_corpus.py",
        description="Write a deterministic synthetic corpus of N feedpub record files into DIR.",
    )
    parser.add_argument("n", metavar="N", type=int, help="number of records to write")
    parser.add_argument("dir", metavar="DIR", help="folder to write them into (created if missing)")
    parser.add_argument("--force", action="store_true", help="write into DIR even if it is not empty")
    parser.add_argument("--topics", metavar="T", type=int, default=0,
                        help="spread the records over T more topics, one each (default: none)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be 0 or more")
    if args.topics < 0:
        parser.error("--topics must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _check_vocabulary()
    folder = args.dir
    if os.path.exists(folder) and not os.path.isdir(folder):
        print(f"make_corpus: {folder} exists and is not a folder", file=sys.stderr)
        return 2
    existing = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    if existing and not args.force:
        print(
            f"make_corpus: {folder} is not empty ({len(existing)} entries); "
            "use --force to write into it anyway, or choose an empty folder",
            file=sys.stderr,
        )
        return 2
    os.makedirs(folder, exist_ok=True)

    started = time.perf_counter()  # only for the report line; the files never see the clock
    total = 0
    smallest = largest = 0
    for index in range(args.n):
        name, data = record(index, args.topics)
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
        size = len(data)
        total += size
        if index == 0 or size < smallest:
            smallest = size
        if size > largest:
            largest = size
        existing.discard(name)
    elapsed = time.perf_counter() - started

    if existing:
        print(f"make_corpus: note: {folder} also holds {len(existing)} other entries", file=sys.stderr)
    mean = total / args.n if args.n else 0.0
    print(
        f"wrote {args.n} files, {total} bytes to {folder} in {elapsed:.1f}s; "
        f"size min {smallest} / mean {mean:.0f} / max {largest} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
