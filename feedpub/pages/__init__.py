"""The files for people beside the feeds: a page per feed, the index page,
the OPML list of every feed, the stylesheet that shows a feed in a browser,
and what other sites embed (a fragment of HTML per feed, the block of
alternate links for their ``<head>``, and the widget's script).

This module only names them (it imports nothing, so that the formats can ask
it where a feed's page and stylesheet are); ``feedpub.pages.render`` writes
them from the templates in ``feedpub/templates`` (Jinja2, every value escaped
by construction), and ``feedpub/assets`` holds the files shipped as they are.
All of them are on when the ``pages`` setting is.
"""

from __future__ import annotations

PAGE = "html"  # the name of a page's entries beside the formats'
PAGE_SUFFIX = ".html"  # a feed's page is its name and this: "topics/ai" + ".html"
PAGE_MEDIA_TYPE = "text/html"
# A page shows at most this many of its feed's items, newest first: a
# person reads the newest few hundred, and a feed with a large item limit
# would make pages of many megabytes (the feeds keep every item for readers).
PAGE_MAX_ITEMS = 500
INDEX = "index.html"
OPML = "feeds.opml"
OPML_MEDIA_TYPE = "text/x-opml"
STYLESHEET = "feed.xsl"
STYLESHEET_MEDIA_TYPE = "application/xslt+xml"
STYLE = "style.css"  # the pages' and the stylesheet's look
# The widget other sites load from the feeds' own origin: it lists a JSON
# Feed's items as a fragment lists them, with the same class names.
EMBED_SCRIPT = "embed.js"
# The files of feedpub/assets, each with its media type, published as they are.
ASSETS = {STYLE: "text/css", EMBED_SCRIPT: "text/javascript"}
# What other sites include, in a folder of its own (served with CORS): a
# fragment of HTML per feed, ``embed/<feed>.html``, whose entries are
# rendered once per article and shared as a page's are (``EMBED`` is their
# writer's name), and ``embed/head.html``, the alternate links of every feed.
# No feed is named ``head``: the combined feed is ``all``, the others live
# in folders.
EMBED = "embed"
EMBED_DIR = "embed"
EMBED_HEAD = EMBED_DIR + "/head.html"


def to_root(name: str) -> str:
    """The relative path from the folder of the feed ``name`` ("all",
    "topics/ai") to the output folder: links between feedpub's own files are
    relative, so they hold wherever the folder is served."""
    return "../" * name.count("/")


def stylesheet_instruction(name: str) -> bytes:
    """The processing instruction that makes a browser show the feed ``name``
    through the stylesheet (``text/xsl``: the type browsers apply)."""
    return f'<?xml-stylesheet type="text/xsl" href="{to_root(name)}{STYLESHEET}"?>\n'.encode("ascii")
