"""feedpub: turn a folder of article records into Atom and RSS feeds."""

__version__ = "0.1.0"
