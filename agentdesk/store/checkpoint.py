"""Writing a checkpoint, and finishing or discarding one a crash interrupted.

Steps, and what a crash after each leaves:

1. every changed file is written as ``NAME.<generation>.tmp`` and synced,
   with its directory: the old checkpoint is still in force, and the
   temporary files are removed when the store opens;
2. the manifest (new sequence number, list of renames) replaces the old one
   atomically: this is the commit point; opening redoes the renames;
3. the renames: each file flips from its old to its new content atomically;
4. (by the caller) a new journal segment, then the old segments go: the
   journal records they held are all in the checkpoint.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from .durable import fsync_dir
from .manifest import MANIFEST_NAME, Manifest, write_manifest_file
from .tinyfile import write_tables, write_text

TEMP_SUFFIX = ".tmp"


FileContent = dict[str, Iterable[str]] | str


def write_checkpoint(
    directory: Path, previous: Manifest, seq: int, files: dict[Path, FileContent]
) -> Manifest:
    """Write ``files`` (tables, or finished text) and commit them as the checkpoint at ``seq``."""
    generation = previous.generation + 1
    renames: list[tuple[Path, Path]] = []
    committed = False
    try:
        for final, tables in files.items():
            final.parent.mkdir(exist_ok=True)
            temporary = final.with_name(f"{final.name}.{generation}{TEMP_SUFFIX}")
            renames.append((temporary, final))
            if isinstance(tables, str):
                write_text(temporary, tables)
            else:
                write_tables(temporary, tables)
        for parent in {final.parent for _, final in renames}:
            fsync_dir(parent)
        manifest = Manifest(
            seq=seq,
            generation=generation,
            renames=[
                [str(t.relative_to(directory)), str(f.relative_to(directory))] for t, f in renames
            ],
        )
        temporary_manifest = directory / (MANIFEST_NAME + TEMP_SUFFIX)
        write_manifest_file(temporary_manifest, manifest)
        os.replace(temporary_manifest, directory / MANIFEST_NAME)
        committed = True
    finally:
        if not committed:
            for temporary, _ in renames:
                with contextlib.suppress(OSError):
                    temporary.unlink()
    fsync_dir(directory)
    finish_renames(directory, manifest)
    return manifest


def finish_renames(directory: Path, manifest: Manifest) -> None:
    """Do the renames of a committed checkpoint that are not done yet."""
    parents = set()
    for temporary, final in manifest.renames:
        source = directory / temporary
        if source.exists():
            os.replace(source, directory / final)
            parents.add((directory / final).parent)
    for parent in parents:
        fsync_dir(parent)


def remove_stray_temporaries(directory: Path, manifest: Manifest, subdirs: Iterable[str]) -> None:
    """Delete temporary files of checkpoints that never committed."""
    pending = {temporary for temporary, _ in manifest.renames}
    for folder in [directory, *(directory / name for name in subdirs)]:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.endswith(TEMP_SUFFIX) and str(path.relative_to(directory)) not in pending:
                path.unlink()
