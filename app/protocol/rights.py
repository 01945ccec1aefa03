"""Rights: what each role may do, and what each entry needs, judged alike on a desk and at the
store (app/store/authorise.py), so a desk never writes what the store will refuse.

The role -> rights table is a documented TOML file (`app/defaults/roles.toml` is the shipped
default; `DISPATCH_DESK_ROLES` names another, for desks and the store alike). `parse_roles`
judges its text; reading the file is the callers' (app/roles.py, app/store/authorise.py).

Entries written by the desk's own machinery (the ladder, the SLA watch, the sync, the doors)
name a machine actor, not a person: such an actor has no account and may write what machinery
writes, never what only a person decides (`PERSON_ONLY`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.errors import ConfigError
from app.protocol.catalogue import OPERATOR_KINDS, ROLE_NAME, SIGNIN_KINDS
from app.protocol.text import text_problem

DEFAULT_ROLES_FILE = Path(__file__).resolve().parents[1] / "defaults" / "roles.toml"
#: The environment variable that names the site's roles file, on desks and the store alike.
ROLES_ENV = "DISPATCH_DESK_ROLES"


class Right(StrEnum):
    CHANGE_PRIORITY = "change_priority"
    CLOSE_P1_P2 = "close_p1_p2"
    ACCEPT_HANDOVER = "accept_handover"
    OVERRIDE_HANDOVER = "override_handover"
    EDIT_ROSTER = "edit_roster"
    EDIT_RULES = "edit_rules"
    EDIT_LADDER = "edit_ladder"
    EDIT_INTEGRATIONS = "edit_integrations"
    MANAGE_OPERATORS = "manage_operators"
    WRITE_CARDS = "write_cards"


#: What a right lets a person do, as a refusal says it ("changing a priority needs ...").
RIGHT_LABELS: dict[Right, str] = {
    Right.CHANGE_PRIORITY: "changing a priority",
    Right.CLOSE_P1_P2: "closing a P1 or P2 card",
    Right.ACCEPT_HANDOVER: "accepting a handover",
    Right.OVERRIDE_HANDOVER: "overriding a handover",
    Right.EDIT_ROSTER: "editing the roster",
    Right.EDIT_RULES: "editing the rules",
    Right.EDIT_LADDER: "editing the ladder",
    Right.EDIT_INTEGRATIONS: "editing integrations",
    Right.MANAGE_OPERATORS: "managing operator accounts",
    Right.WRITE_CARDS: "writing to cards",
}

#: Who the desk's machinery names as the author of its entries (app/services/cards/sla.py,
#: app/services/escalation/service.py, app/sync/engine.py, the doors, the store's webhooks).
#: No account may take one of these ids. A new piece of machinery adds its name here.
MACHINE_ACTORS = frozenset({
    "system", "ladder", "sync", "intake door", "phone line", "mailbox", "intake rules",
    "sign-in", "store admin", "twilio webhook", "outbox", "messages", "roster",
    "config check",  # a changed rules file found at start (app/services/audit.py)
})
#: How the store marks an entry it keeps but refuses for rights (app/store/authorise.py);
#: the pushing desk takes such an entry out of its cards (app/models/journal_sync.py).
REFUSED_PREFIX = "refused: not authorised: "

_ACCOUNT_KINDS = OPERATOR_KINDS - SIGNIN_KINDS
_INTEGRATION_PREFIXES = ("integration.", "webhook.", "maintenance.")


@dataclass(frozen=True)
class Role:
    name: str
    label: str  # as people say it: "shift lead"
    rights: frozenset[Right]


@dataclass(frozen=True)
class RoleRights:
    """The site's roles in the file's order, each with its rights."""

    roles: tuple[Role, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def rights_of(self, role_names: Iterable[str]) -> frozenset[Right]:
        out: set[Right] = set()
        for name in role_names:
            role = self.role(name)
            if role is not None:  # a role the file no longer has gives nothing
                out |= role.rights
        return frozenset(out)

    def holders(self, right: Right) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if right in r.rights)

    def labels(self, role_names: Iterable[str]) -> str:
        """"dispatcher, shift lead" for the given role names (unknown ones as written)."""
        shown = []
        for name in role_names:
            role = self.role(name)
            shown.append(role.label if role is not None else name)
        return ", ".join(shown) or "no role"

    def needs(self, right: Right) -> str:
        """"changing a priority needs the right change_priority (dispatcher, shift lead, ...)"."""
        held = ", ".join(r.label for r in self.holders(right)) or "no role holds it"
        return f"{RIGHT_LABELS[right]} needs the right {right.value} ({held})"


def _where(source: str, index: int, key: str = "") -> str:
    return f"{source}.role[{index}]" + (f".{key}" if key else "")


def parse_roles(text: str, source: str = "roles.toml") -> RoleRights:
    """The role table in `text`; a ConfigError naming the file and the key's place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}", field="roles") from None
    extra = sorted(set(data) - {"role"})
    if extra:
        raise ConfigError(f"{source}: unknown key {extra[0]!r}; the file holds [[role]] tables",
                          field="roles")
    tables = data.get("role")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{source}: no [[role]] tables; see app/defaults/roles.toml",
                          field="roles")
    known = {r.value for r in Right}
    roles: list[Role] = []
    for i, table in enumerate(tables, 1):
        roles.append(_role(table, _where(source, i), known, {r.name for r in roles}))
    table_ = RoleRights(tuple(roles))
    if not table_.holders(Right.MANAGE_OPERATORS):
        raise ConfigError(f"{source}: no role has the right manage_operators, so nobody could "
                          "add or re-enable an account; give it to a role such as admin",
                          field="roles")
    return table_


def _role(table: Any, where: str, known: set[str], taken: set[str]) -> Role:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table", field="roles")
    extra = sorted(set(table) - {"name", "label", "rights", "note"})
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (name, label, rights, note)",
                          field="roles")
    name = table.get("name")
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
        raise ConfigError(f"{where}.name: give a role name of lower-case letters, digits and "
                          "'_' (e.g. shift_lead)", field="roles")
    if name in taken:
        raise ConfigError(f"{where}.name: role {name!r} is defined twice", field="roles")
    label = table.get("label", name.replace("_", " "))
    if not isinstance(label, str) or not label.strip() or len(label) > 40 or \
            text_problem(label):
        raise ConfigError(f"{where}.label: one line of at most 40 characters", field="roles")
    rights = table.get("rights")
    if not isinstance(rights, list):
        raise ConfigError(f"{where}.rights: a list of rights, e.g. [\"write_cards\"] (an empty "
                          "list for a role that only reads)", field="roles")
    for j, right in enumerate(rights):
        if right not in known:
            raise ConfigError(f"{where}.rights[{j}]: unknown right {str(right)[:40]!r}; use "
                              f"{', '.join(sorted(known))}", field="roles")
    return Role(name, label.strip(), frozenset(Right(r) for r in rights))


# -- what an entry needs ----------------------------------------------------------------

def is_machine(operator: str) -> bool:
    return operator in MACHINE_ACTORS


def entry_rights(kind: str, payload: Mapping[str, Any], priority: str | None) -> frozenset[Right]:
    """The rights a person needs to write this entry; `priority` is the card's priority at
    the entry's time (it decides whether a close needs close_p1_p2). Sign-in facts need none
    (who may write them is `signin_problem`'s business)."""
    if kind in SIGNIN_KINDS:
        return frozenset()
    if kind in _ACCOUNT_KINDS:
        return frozenset({Right.MANAGE_OPERATORS})
    if kind.startswith(_INTEGRATION_PREFIXES):
        return frozenset({Right.EDIT_INTEGRATIONS})
    if kind == "card.priority":
        return frozenset({Right.CHANGE_PRIORITY})
    if kind == "roster.imported":
        return frozenset({Right.EDIT_ROSTER})
    if kind == "config.changed":
        return frozenset({Right.EDIT_RULES})
    if kind == "handover.accepted":
        return frozenset({Right.ACCEPT_HANDOVER})
    if kind == "handover.overridden":
        return frozenset({Right.OVERRIDE_HANDOVER})
    if kind == "card.status" and payload.get("status") == "closed" and priority in ("P1", "P2"):
        return frozenset({Right.WRITE_CARDS, Right.CLOSE_P1_P2})
    return frozenset({Right.WRITE_CARDS})


def person_only(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether only a signed-in person may write this (never the desk's machinery)."""
    return (kind == "card.priority" or kind.startswith("handover.")
            or kind in _ACCOUNT_KINDS or kind.startswith(_INTEGRATION_PREFIXES)
            or kind == "card.review"
            or (kind == "card.status" and payload.get("status") == "closed"))


def card_rule_problem(kind: str, payload: Mapping[str, Any]) -> str | None:
    """The card's rules that need no clock and no other entry: a close carries its closure
    (cause, workaround, fix, lessons) and, if it says where it came from, comes from Restored.
    (A status the model knows is the catalogue's own check.)"""
    if kind != "card.status" or payload.get("status") != "closed":
        return None
    if not payload.get("closure"):
        return ("a close must carry the closure fields (cause, workaround, permanent fix, "
                "lessons)")
    came = payload.get("from")
    if came is not None and came != "restored":
        return f"a card is closed from Restored, not from {came}"
    return None
