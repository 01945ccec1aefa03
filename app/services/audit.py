"""The audit trail of the rules: who changed the accounts, the tokens, the roster, the rules
files and the integrations, and who signed in or failed to.

Every item is a journal fact, so the trail syncs like every entry and survives a rebuilt
desk: account and token changes (OPERATORS_CARD), sign-ins (SIGNINS_CARD), a roster import
or a roster saved in the window (``roster.imported``: who, the file's SHA-256, the counts and
a readable summary of the difference), a rules file found changed when the desk starts
(``config.changed``: which setting and file, the new and the previous SHA-256, and the OS user
who ran the desk -- the file itself says nothing of who edited it), integration keys (added
and revoked, on a desk or with `server integration`), outbound webhooks, maintenance windows,
desks the store enrolled or revoked (``store.desk_*``, the store's own entries under
DESKS_CARD), and entries an operator discarded.

`audit_items` is the one listing: pure, over entries from a journal (`dispatch-desk audit`,
the handover sheet's "rule changes this shift") or from the store (`server audit`).

Services do no I/O: the composition root (app/bootstrap.py) reads the files and passes their
digests in; `RosterRecorder` is given by the desk's roster store (app/adapters/roster_store.py)
the roster before and after a change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.protocol.catalogue import (
    AUDIT_CARD,
    DESKS_CARD,
    INTEGRATIONS_CARD,
    MAINTENANCE_CARD,
    OPERATORS_CARD,
    SIGNINS_CARD,
    SYNC_CARD,
    WEBHOOKS_CARD,
)
from app.protocol.text import for_display
from app.services.roster import RosterFile

#: The machine actor of a changed rules file (app/protocol/rights.py MACHINE_ACTORS).
CONFIG_ACTOR = "config check"
#: desk_meta key of the last digest this desk saw of each setting's file.
DIGEST_KEY = "config_digest:{setting}"
#: The pseudo cards that hold the rules' changes (the handover sheet's "rule changes this
#: shift" reads only these: sign-ins grow without end and change no rule).
RULE_CARDS = (OPERATORS_CARD, AUDIT_CARD, INTEGRATIONS_CARD, WEBHOOKS_CARD, MAINTENANCE_CARD,
              DESKS_CARD)
#: Every pseudo card of the trail.
SOURCES = (*RULE_CARDS, SIGNINS_CARD, SYNC_CARD)
#: The areas that are a change of the rules (not a sign-in, not a discarded entry).
RULE_AREAS = frozenset({"account", "token", "roster", "config", "integration", "webhook",
                        "maintenance", "desk"})
#: The store writes its own entries as "store-<store_id>", an id no desk may enrol with
#: (app/store/enrol.py): a desk fact from any other author is not the store's, and not listed.
STORE_AUTHOR_PREFIX = "store-"
_SUMMARY_MAX = 2000


# -- a changed rules file, found at start -------------------------------------------------

def record_config_changes(journal: Journal, files: Mapping[str, tuple[str, str]],
                          by: str, clock: Clock) -> list[Entry]:
    """`files`: setting -> (file, SHA-256 of its bytes). A digest other than the last one
    this desk saw is a ``config.changed`` fact; the first sight of a setting is only noted
    (nothing changed yet). Returns what was written."""
    made: list[NewEntry] = []
    seen: list[tuple[str, str]] = []
    for setting, (file, digest) in sorted(files.items()):
        key = DIGEST_KEY.format(setting=setting)
        before = journal.get_meta(key)
        if before == digest:
            continue
        seen.append((key, digest))
        if before is None:
            continue
        payload: dict[str, Any] = {"setting": setting, "file": file[-500:], "digest": digest,
                                   "previous_digest": before, "at": clock.now().isoformat()}
        if by.strip():
            payload["by"] = for_display(by)[:120]
        made.append(NewEntry(AUDIT_CARD, "config.changed", payload))
    written = journal.write(made, CONFIG_ACTOR) if made else []
    for key, digest in seen:  # after the facts: a crash between repeats a fact, loses none
        journal.set_meta(key, digest)
    return written


# -- a roster import (or the window's save) ---------------------------------------------------

def _names(items: Iterable[Any], label: Callable[[Any], str]) -> str:
    shown = [label(i) for i in items]
    text = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
    return f" ({text})" if text else ""


def _diff(before: Sequence[Any], after: Sequence[Any], key: Callable[[Any], str],
          label: Callable[[Any], str], what: str) -> str | None:
    old = {key(x): x for x in before}
    new = {key(x): x for x in after}
    added = [new[k] for k in new if k not in old]
    gone = [old[k] for k in old if k not in new]
    changed = [new[k] for k in new if k in old and new[k] != old[k]]
    if not (added or gone or changed):
        return None
    parts = [f"+{len(added)}{_names(added, label)}" if added else "",
             f"-{len(gone)}{_names(gone, label)}" if gone else "",
             f"{len(changed)} changed{_names(changed, label)}" if changed else ""]
    return f"{what} " + ", ".join(p for p in parts if p)


def roster_summary(before: RosterFile, after: RosterFile) -> str:
    """What a roster change did, in one readable line: who and which rotas came, went or
    changed, overrides added and removed, the routing rules' count."""
    b, a = before.roster, after.roster
    parts = [
        _diff(b.contacts, a.contacts, lambda c: c.id, lambda c: c.name, "contacts"),
        _diff(b.groups, a.groups, lambda g: g.name, lambda g: g.name, "groups"),
        _diff(b.rotations, a.rotations, lambda r: r.id, lambda r: f"{r.group}/{r.role}",
              "rotations"),
        _diff(b.overrides, a.overrides,
              lambda o: f"{o.person_id}|{o.start.isoformat()}|{o.end.isoformat()}",
              lambda o: f"{o.person_id} {o.start:%Y-%m-%d}..{o.end:%Y-%m-%d}", "overrides"),
    ]
    if len(before.routing.rules) != len(after.routing.rules):
        parts.append(f"routing rules {len(before.routing.rules)} -> "
                     f"{len(after.routing.rules)}")
    elif before.routing != after.routing:
        parts.append("routing rules changed")
    text = "; ".join(for_display(p) for p in parts if p) or "no difference"
    return text[:_SUMMARY_MAX]


@dataclass
class RosterRecorder:
    """The desk's roster audit (`app.adapters.roster_store.RosterAudit`): `allow` refuses a
    change by someone without edit_roster before anything is written; `record` writes the
    ``roster.imported`` fact after the file is saved."""

    journal: Journal
    clock: Clock
    author: Callable[[], str]
    allow: Callable[[], None]

    def record(self, before: RosterFile, after: RosterFile, digest: str, source: str) -> Entry:
        r = after.roster
        payload: dict[str, Any] = {
            "by": for_display(self.author())[:120], "digest": digest,
            "contacts": len(r.contacts), "rotations": len(r.rotations),
            "overrides": len(r.overrides), "groups": len(r.groups),
            "routes": len(after.routing.rules), "summary": roster_summary(before, after),
            "at": self.clock.now().isoformat()}
        if source:
            payload["source"] = for_display(source)[-500:]
        [entry] = self.journal.write([NewEntry(AUDIT_CARD, "roster.imported", payload)],
                                     self.author())
        # The desk's own change is not a hand edit: the start-up check must not report it.
        self.journal.set_meta(DIGEST_KEY.format(setting="roster"), digest)
        return entry


# -- the listing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditItem:
    at: datetime
    area: str  # account, token, sign-in, roster, config, integration, webhook, ...
    who: str
    what: str
    kind: str
    desk_id: str
    entry_id: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "area": self.area, "who": self.who,
                "what": self.what, "kind": self.kind, "desk_id": self.desk_id,
                "entry": self.entry_id}


def _short(digest: Any) -> str:
    return str(digest or "none")[:12]


def _why(p: Mapping[str, Any]) -> str:
    return f": {p['reason']}" if p.get("reason") else ""


def _door(entry: Entry, known: dict[str, str]) -> tuple[str, str]:
    """An integration key, a webhook subscription or a maintenance window added or taken
    away: its name, its kind (or where it goes, or when it is) and the reason. `known`
    remembers what an earlier entry said of the same name or id, because a revocation
    names only the integration (a cancellation only the window's id)."""
    k, p = entry.kind, entry.payload
    area, verb = k.split(".", 1)
    if area == "integration":
        name = str(p.get("name"))
        if k == "integration.added":
            known[f"i:{name}"] = str(p.get("kind"))
            place = ", ".join(str(p[f]) for f in ("site", "category") if p.get(f))
            return area, (f"integration key {name} ({p.get('kind')}) added"
                          + (f" for {place}" if place else "")
                          + (f": {p['note']}" if p.get("note") else ""))
        kind = known.get(f"i:{name}")
        return area, f"integration key {name}{f' ({kind})' if kind else ''} revoked{_why(p)}"
    if area == "webhook":
        if k == "webhook.subscribed":
            known[f"w:{p.get('name')}"] = str(p.get("url"))
            return area, (f"webhook {p.get('name')} added: {', '.join(p.get('events', []))} "
                          f"-> {p.get('url')}")
        url = known.get(f"w:{p.get('name')}")
        return area, f"webhook {p.get('name')}{f' ({url})' if url else ''} removed{_why(p)}"
    ident = str(p.get("id"))
    if k == "maintenance.scheduled":
        known[f"m:{ident}"] = str(p.get("name"))
        scope = ", ".join(str(p[f]) for f in ("site", "category", "integration") if p.get(f))
        repeat = f", {p['repeat']}" if p.get("repeat") not in (None, "none") else ""
        return area, (f"maintenance window {p.get('name')} scheduled {p.get('starts')} to "
                      f"{p.get('ends')}{repeat}" + (f" for {scope}" if scope else ""))
    name = known.get(f"m:{ident}", ident)
    return area, f"maintenance window {name} cancelled{_why(p)}"


def _what(entry: Entry, known: dict[str, str]) -> tuple[str, str] | None:
    """(area, one line) for an entry of the trail; None for one that is not. `known`: what
    earlier entries of the trail said of a name (see `_door`)."""
    k, p = entry.kind, entry.payload
    who = p.get("id") or p.get("name") or p.get("login") or ""
    if k in ("operator.signed_in", "operator.signin_failed"):
        ok = k == "operator.signed_in"
        return "sign-in", (f"{who} signed in" if ok else
                           f"sign-in failed for {who}: {p.get('reason', 'wrong_pin')}")
    if k.startswith("operator.token"):
        if k == "operator.token_created":
            exp = f", expires {p['expires_at']}" if p.get("expires_at") else ""
            return "token", f"token {who} made: {', '.join(p.get('rights', []))}{exp}"
        return "token", f"token {who} revoked" + (f": {p['reason']}" if p.get("reason") else "")
    if k.startswith("operator."):
        change = {"operator.added": f"added with roles {', '.join(p.get('roles', []))}",
                  "operator.roles": f"roles now {', '.join(p.get('roles', []))}",
                  "operator.disabled": "disabled", "operator.enabled": "enabled",
                  "operator.pin_set": "PIN changed"}.get(k, k)
        why = f" ({p['reason']})" if p.get("reason") else ""
        return "account", f"account {who} {change}{why}"
    if k == "roster.imported":
        src = f" from {p['source']}" if p.get("source") else ""
        return "roster", (f"roster imported{src} (sha256 {_short(p.get('digest'))}): "
                          f"{p.get('contacts')} contacts, {p.get('rotations')} rotations, "
                          f"{p.get('overrides')} overrides; {p.get('summary', '')}")
    if k == "config.changed":
        return "config", (f"{p.get('setting')} file {p.get('file')} changed (sha256 "
                          f"{_short(p.get('previous_digest'))} -> {_short(p.get('digest'))})"
                          + (f", desk run by OS user {p['by']}" if p.get("by") else ""))
    if k.startswith(("integration.", "webhook.", "maintenance.")):
        return _door(entry, known)
    if k.startswith("store.desk_"):
        if not entry.desk_id.startswith(STORE_AUTHOR_PREFIX):
            return None  # written by a desk, not by the store: nobody's enrolment
        desk = f"desk {p.get('desk_id')} ({p.get('name') or '?'}"
        desk += f", cards {p['desk_code']})" if p.get("desk_code") else ")"
        if k == "store.desk_enrolled":
            return "desk", f"{desk} enrolled" + (" again" if p.get("again") else "")
        return "desk", (f"{desk} revoked" + (f": {p['reason']}" if p.get("reason") else "")
                        + (f", by OS user {p['by']}" if p.get("by") else ""))
    if k == "sync.discarded":
        return "sync", (f"discarded {p.get('direction', '')} entry {p.get('entry')} "
                        f"({p.get('kind') or '?'}): {p.get('reason')}")
    return None


def audit_items(entries: Iterable[Entry], since: datetime | None = None,
                until: datetime | None = None, areas: Iterable[str] = ()) -> list[AuditItem]:
    """The trail in `entries` (any mix of the trail's pseudo cards, from a journal or the
    store), newest first, made from `since` on and before `until` (and only `areas`, when
    given). Pure: the desk, the store and the handover sheet all list it through here."""
    wanted = frozenset(areas)
    known: dict[str, str] = {}
    items: list[AuditItem] = []
    for entry in sorted(entries, key=lambda e: (e.hlc, e.id)):
        found = _what(entry, known)  # every entry, so a revocation knows what was added
        if found is None or (since is not None and entry.at < since) or (
                until is not None and entry.at >= until):
            continue
        area, what = found
        if wanted and area not in wanted:
            continue
        items.append(AuditItem(entry.at, area, entry.operator, for_display(what),
                               entry.kind, entry.desk_id, entry.id))
    # Stamp order, newest first: within one millisecond the stamp's counter says which came
    # first (a revocation and the re-enrolment after it), an entry's random id does not.
    return items[::-1]


def rule_changes(entries: Iterable[Entry], start: datetime, end: datetime) -> list[AuditItem]:
    """The changes of the rules made in [start, end), oldest first (the handover sheet's
    "rule changes this shift"): no sign-ins, no discarded entries."""
    return audit_items(entries, start, end, RULE_AREAS)[::-1]


def trail_entries(journal: Journal, cards: Iterable[str] = SOURCES) -> list[Entry]:
    return [e for card in cards for e in journal.entries(card)]


def audit_trail(journal: Journal, since: datetime | None = None,
                areas: Iterable[str] = ()) -> list[AuditItem]:
    """The desk's trail, newest first, from `since` on (and only `areas`, when given)."""
    return audit_items(trail_entries(journal), since, None, areas)


__all__ = ["CONFIG_ACTOR", "DIGEST_KEY", "RULE_AREAS", "RULE_CARDS", "SOURCES", "AuditItem",
           "RosterRecorder", "audit_items", "audit_trail", "record_config_changes",
           "roster_summary", "rule_changes", "trail_entries"]
