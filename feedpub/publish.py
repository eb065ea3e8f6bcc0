"""Put rendered feeds into the output folder: the only module that writes there.

A file is replaced atomically (temporary file in the same folder, flushed,
renamed over the old one), and only when its bytes change: a static server
derives ETag and Last-Modified from the file, so rewriting identical bytes
would make every reader download the feed again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from feedpub.errors import OutputError


@dataclass(frozen=True)
class PublishReport:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]


def target_path(output_dir: Path, relative: str) -> Path:
    """``output_dir / relative``, refusing anything that would leave the folder."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise OutputError(f"{relative!r} is not a path inside the output folder")
    return output_dir.joinpath(*parts)


def same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a web server must read it
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def publish(output_dir: Path, files: list[tuple[str, bytes]]) -> PublishReport:
    """Write each (relative path, bytes) whose bytes differ from what is on disk."""
    written, unchanged = [], []
    try:
        for relative, data in files:
            path = target_path(output_dir, relative)
            if same_bytes(path, data):
                unchanged.append(relative)
            else:
                write_atomically(path, data)
                written.append(relative)
    except OSError as exc:
        raise OutputError(f"{exc.filename or output_dir}: cannot write: {exc.strerror or exc}") from None
    return PublishReport(tuple(written), tuple(unchanged))
