"""The roster domain: people, on-call rotations, vacation overrides and the routing matrix.

Pure code: no Qt, no network, no clock. Every instant is passed in as an aware datetime so
that who-is-on-call can be asked for any moment, including across daylight-saving changes.

    contact.py   the one contact format and the value checks (E.164, ids, skill tags)
    rotation.py  rotations (weekly, 2/2, 1-in-3, daily) and vacation overrides
    model.py     Roster: on_call, on_call_now_and_next, schedule, warnings
    routing.py   RoutingMatrix: category x site x time band x priority -> one person
    tomlfile.py  the roster file (people, rotas, site hours, routing) in TOML
    csvfile.py   the contact list in CSV
"""

from .contact import METHODS, Contact, check_phone, normalise_phone
from .csvfile import CSV_COLUMNS, dump_contacts_csv, load_contacts_csv
from .model import Group, OnCall, Roster, Span
from .rotation import PATTERN_DAYS, ROLES, Override, Rotation, Shift
from .routing import (
    COORDINATOR_DEADLINE,
    Route,
    RoutingDecision,
    RoutingMatrix,
    Rule,
    TimeBand,
    time_band,
)
from .tomlfile import RosterFile, dump_roster_toml, load_roster_toml

__all__ = [
    "COORDINATOR_DEADLINE",
    "CSV_COLUMNS",
    "METHODS",
    "PATTERN_DAYS",
    "ROLES",
    "Contact",
    "Group",
    "OnCall",
    "Override",
    "Roster",
    "RosterFile",
    "Rotation",
    "Route",
    "RoutingDecision",
    "RoutingMatrix",
    "Rule",
    "Shift",
    "Span",
    "TimeBand",
    "check_phone",
    "dump_contacts_csv",
    "dump_roster_toml",
    "load_contacts_csv",
    "load_roster_toml",
    "normalise_phone",
    "time_band",
]
