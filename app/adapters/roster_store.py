"""Where a desk's roster lives: one TOML file next to the journal.

``<journal stem>.roster.toml`` beside ``journal.sqlite`` (so ``journal.roster.toml``), not
the journal's meta table, because:

- shift leads edit rotas by hand and in review; a plain file can be read, diffed, printed
  and kept under version control, a row in SQLite cannot;
- a journal rebuilt from its entries, or replaced, keeps the roster;
- the roster is configuration, not a card change, so it has no place among the entries.

The file holds the people and rotas and the routing matrix (``app.services.roster``).
A save is atomic (a temporary file, fsync, rename): after a power cut the desk finds the
old roster or the new one, never half of each. Loading validates everything and names the
file, the line and ``[[section]]`` and the field of any problem. A missing file is an empty
roster, so a new desk starts; ``warnings`` then says how to fill it.

Every change through the desk (``import_file``, ``save`` -- the window's roster dialog) goes
past the desk's ``audit`` (app/services/audit.py, wired by app/bootstrap.py): it may refuse
the change before anything is written (a signed-in operator without edit_roster), and it
writes the ``roster.imported`` fact -- who, the file's SHA-256, the counts and what changed --
once the file is saved. A roster built without it (a test, a tool) changes only the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from app.errors import ConfigError, ValidationError
from app.services.roster import (
    Contact,
    Roster,
    RosterFile,
    RoutingMatrix,
    dump_contacts_csv,
    dump_roster_toml,
    load_contacts_csv,
    load_roster_toml,
)

ROSTER_SUFFIX = ".roster.toml"
# The shipped example (six domain groups, three rotation patterns, a vacation, routing).
DEFAULT_EXAMPLE = Path(__file__).resolve().parents[1] / "defaults" / "roster.example.toml"


def roster_path_for(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.stem + ROSTER_SUFFIX)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written: {exc.strerror}") from None


def read_roster_file(path: Path) -> RosterFile:
    """Load any roster file (TOML), naming ``path`` in every complaint."""
    return load_roster_toml(_read(path), source=str(path))


class RosterAudit(Protocol):
    """Who may change the roster, and the fact of each change (app/services/audit.py)."""

    def allow(self) -> None:
        """Raise (PermissionDenied) to refuse the change; nothing is written then."""

    def record(self, before: RosterFile, after: RosterFile, digest: str,
               source: str) -> object:
        """Write the fact of a change just saved; `digest` is the new file's SHA-256."""


class DeskRoster:
    """The roster of one desk: load, replace, import and export, always whole.

    ``roster`` and ``routing`` are immutable snapshots; every change builds a new, fully
    validated ``RosterFile`` and writes it before the snapshot is swapped, so a refused
    change leaves both the file and the desk as they were.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._current = RosterFile()
        self._stamp: str | None = None
        #: Set by the composition root: every change is allowed and recorded through it.
        self.audit: RosterAudit | None = None
        self.reload()

    @classmethod
    def for_journal(cls, journal_path: Path) -> DeskRoster:
        return cls(roster_path_for(journal_path))

    @property
    def roster(self) -> Roster:
        return self._current.roster

    @property
    def routing(self) -> RoutingMatrix:
        return self._current.routing

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def _file_stamp(self) -> str | None:
        # The content, not the mtime: two edits within one filesystem tick share an mtime,
        # and a roster file is small enough to hash once a minute.
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot be read: {exc.strerror}") from None

    def reload(self) -> None:
        """Read the file again; on a bad file raise and keep what was loaded before."""
        stamp = self._file_stamp()
        loaded = RosterFile() if stamp is None else read_roster_file(self.path)
        self._current, self._stamp = loaded, stamp

    def refresh(self) -> bool:
        """Reload if someone edited the file since; True if the roster may have changed.

        A broken edit raises (ConfigError/ValidationError) and the last good roster stays.
        """
        if self._file_stamp() == self._stamp:
            return False
        self.reload()
        return True

    def save(self, roster: Roster, routing: RoutingMatrix | None = None, *,
             source: str = "") -> None:
        """Write ``roster`` (and ``routing``, else the current matrix) as the desk's file;
        ``source`` says where it came from for the audit (the window: "roster dialog")."""
        new = RosterFile(roster, self.routing if routing is None else routing)
        if self.audit is not None:
            self.audit.allow()  # before anything is written
        text = dump_roster_toml(new.roster, new.routing)
        # Read back what is about to be written: a writer bug must not cost the roster.
        load_roster_toml(text, source=f"{self.path} (about to be saved)")
        _write_atomically(self.path, text)
        before = self._current
        self._current, self._stamp = new, self._file_stamp()
        if self.audit is not None:
            self.audit.record(before, new, self._stamp or "", source or "roster dialog")

    def import_file(self, source: Path, *, replace_contacts: bool = False) -> str:
        """Import a roster TOML (replaces everything) or a contacts CSV (updates contacts by
        id and adds new ones; with ``replace_contacts`` the CSV is the whole list).

        Everything is validated first, together with the rest of the roster; on any error
        nothing changes. Returns a one-line summary.
        """
        kind = source.suffix.lower()
        if kind == ".toml":
            new = read_roster_file(source)
            self.save(new.roster, new.routing, source=str(source))
            r = new.roster
            return (f"imported {source}: {len(r.contacts)} contacts, {len(r.groups)} groups, "
                    f"{len(r.rotations)} rotations, {len(r.overrides)} overrides, "
                    f"{len(new.routing.rules)} routing rules")
        if kind == ".csv":
            contacts = load_contacts_csv(_read(source), source=str(source))
            merged = _merge_contacts(self.roster.contacts, contacts, replace_contacts)
            try:
                roster = replace(self.roster, contacts=tuple(merged))
            except ValidationError as exc:
                raise ValidationError(f"{source}: the contacts do not fit the roster at "
                                      f"{self.path}: {exc.message}", field=exc.field) from None
            known = {c.id for c in self.roster.contacts}
            self.save(roster, source=str(source))
            added = sum(c.id not in known for c in contacts)
            return (f"imported {source}: {len(contacts) - added} contacts updated, "
                    f"{added} added")
        raise ValidationError(f"{source}: unknown file type {source.suffix!r}; import a .toml "
                              "roster or a .csv contact list", field="FILE")

    def export_file(self, target: Path) -> str:
        """Write the roster as TOML, or the contact list as CSV, by extension."""
        kind = target.suffix.lower()
        if kind == ".toml":
            text = dump_roster_toml(self.roster, self.routing)
        elif kind == ".csv":
            text = dump_contacts_csv(self.roster.contacts)
        else:
            raise ValidationError(f"{target}: unknown file type {target.suffix!r}; export to "
                                  "a .toml roster or a .csv contact list", field="FILE")
        _write_atomically(target, text)
        return f"exported {len(self.roster.contacts)} contacts to {target}"

    def warnings(self, now: datetime, categories: frozenset[str] = frozenset(),
                 days: int = 7) -> list[str]:
        """Setup warnings for the desk: the roster's, the routing matrix's, and a missing
        or empty file."""
        if not self.exists:
            return [f"no roster at {self.path}: import one with `dispatch-desk roster import "
                    "FILE` (see app/defaults/roster.example.toml)"]
        out = self.roster.warnings(now, days)
        out += self.routing.problems(self.roster, categories)
        if not self.routing.rules:
            out.append("the routing matrix is empty: every card goes to the duty coordinator; "
                       "add [[route]] tables")
        return out


def _merge_contacts(old: tuple[Contact, ...], new: list[Contact],
                    replace_all: bool) -> list[Contact]:
    if replace_all:
        return list(new)
    by_id = {c.id: c for c in new}
    merged = [by_id.pop(c.id, c) for c in old]  # keep the file's order, update in place
    return merged + list(by_id.values())
