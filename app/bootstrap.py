"""The composition root: the one place that picks concrete classes and wires them.

`build_desk` gives what every front end needs (command line, window, wallboard); the parts
that reach outside the machine (the store, Twilio) are built on request, because a desk must
open and work without either.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path
from typing import Any

from app.adapters.pager import Pager
from app.adapters.roster_store import DeskRoster, roster_path_for
from app.adapters.secrets import SecretStore
from app.adapters.twilio_pager import BaseUrlHttpClient, TwilioPager
from app.application import Desk
from app.clock import Clock, SystemClock
from app.config import Settings
from app.errors import ConfigError, DeskError
from app.loaders import (
    DEFAULT_INTAKE_RULES,
    load_intake_rules,
    load_ladder,
    load_rules,
    load_shifts,
)
from app.models.journal import Journal
from app.protocol.rights import Right
from app.roles import load_roles, roles_path
from app.services.audit import RosterRecorder, record_config_changes
from app.services.cards.card import Operator
from app.services.cards.rules import DEFAULT_RULES
from app.services.cards.service import CardService
from app.services.cards.sla import SlaWatch
from app.services.escalation.ladder import DEFAULT_LADDER
from app.services.escalation.recipients import Recipients
from app.services.escalation.service import EscalationService
from app.services.handover.service import HandoverService
from app.services.handover.shifts import DEFAULT_SHIFTS
from app.services.intake import IntakeService
from app.services.operators.rights import demand
from app.services.operators.service import OperatorService
from app.services.roster import Roster, RoutingMatrix
from app.sync.engine import SyncEngine
from app.sync.enroll import enrolled, open_sync

log = logging.getLogger(__name__)

#: Keyring names (service "dispatch-desk") of the Twilio credentials.
TWILIO_SECRETS = ("twilio_account_sid", "twilio_auth_token", "twilio_from_number")


def build_desk(settings: Settings, clock: Clock | None = None) -> Desk:
    clock = clock or SystemClock()
    rules = load_rules(settings.policies)
    shifts = load_shifts(settings.shifts)
    intake_rules = load_intake_rules(settings.intake_rules, rules)
    journal = Journal.open(settings.journal_path, clock)
    if settings.desk_code and journal.desk_code != settings.desk_code:
        journal.set_desk_code(settings.desk_code)
    cards = CardService(journal, rules, clock)
    intake = IntakeService(journal, rules, intake_rules, clock, cards,
                           auto_register=settings.auto_register)
    desk = Desk(
        settings=settings,
        clock=clock,
        journal=journal,
        rules=rules,
        cards=cards,
        sla=SlaWatch(journal, rules),
        operator=Operator(settings.operator, settings.role),
        roster=DeskRoster.for_journal(journal.path),
        shifts=shifts,
        handover=HandoverService(journal, rules, shifts, clock, intake=intake),
        intake=intake,
        operators=OperatorService(journal, clock, load_roles(settings.roles)),
    )
    desk.roster.audit = _roster_audit(desk)
    try:
        record_config_changes(journal, _rule_files(settings, journal), _os_user(), clock)
    except DeskError as exc:  # a full disk must not stop a desk from opening to be read;
        log.warning("rules files not checked for changes: %s", exc)  # the next start does
    return desk


def _roster_audit(desk: Desk) -> RosterRecorder:
    """Every roster change through this desk (`roster import`, the window's dialog) needs
    edit_roster once the desk knows accounts, and becomes a ``roster.imported`` fact."""

    def allow() -> None:
        if desk.needs_sign_in:
            assert desk.operators is not None
            demand(desk.signed_in, {Right.EDIT_ROSTER}, desk.operators.table)

    return RosterRecorder(desk.journal, desk.clock, lambda: desk.operator.name, allow)


def _rule_files(settings: Settings, journal: Journal) -> dict[str, tuple[str, str]]:
    """Each rules file this desk runs by, with the SHA-256 of its bytes (app/services/
    audit.py writes ``config.changed`` when one differs from what this desk last saw)."""
    files = {"policies": settings.policies or DEFAULT_RULES,
             "shifts": settings.shifts or DEFAULT_SHIFTS,
             "ladder": settings.ladder or DEFAULT_LADDER,
             "intake_rules": settings.intake_rules or DEFAULT_INTAKE_RULES,
             "roles": roles_path(settings.roles),
             "roster": roster_path_for(journal.path)}
    out: dict[str, tuple[str, str]] = {}
    for setting, path in files.items():
        try:
            out[setting] = (str(path), hashlib.sha256(Path(path).read_bytes()).hexdigest())
        except OSError:  # no roster yet; a file that vanished since it was loaded
            continue
    return out


def _os_user() -> str:
    """Who runs this desk, as the OS says: the only witness of a hand-edited file."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def build_sync(desk: Desk, secrets: SecretStore | None = None) -> SyncEngine | None:
    """The sync engine when this desk is enrolled with a store; None means local only."""
    if not enrolled(desk.journal, secrets):
        return None
    return open_sync(desk.journal, desk.clock, desk.settings.store_url, secrets)


def twilio_pager_from(secrets: Any, api_url: str | Settings = "") -> TwilioPager:
    """A TwilioPager from the credentials in the keyring (``SecretStore``), or a ConfigError
    saying how to store them. Given the settings, it honours ``twilio_api_base`` (a stand-in
    or a test account's proxy), region and edge, and ``twilio_callback_url`` (the store
    serves the call's keys); a bare string is the API base alone."""
    sid, token, number = (secrets.get(name) for name in TWILIO_SECRETS)
    if not (sid and token and number):
        raise ConfigError("Twilio credentials are not in the keyring; run "
                          "`dispatch-desk ladder set-credentials` first", field="twilio")
    s = api_url if isinstance(api_url, Settings) else None
    base = (s.twilio_api_base or s.twilio_api_url) if s is not None else str(api_url)
    http = BaseUrlHttpClient(base) if base else None
    return TwilioPager(sid, token, number, http_client=http,
                       callback_url=(s.twilio_callback_url or None) if s else None,
                       region=s.twilio_region if s else None,
                       edge=s.twilio_edge if s else None)


def build_escalation(desk: Desk, pager: Pager, *, ladder_file: Path | None = None,
                     default_group: str | None = None) -> EscalationService:
    """The ladder service of a desk: its ladder file, its roster (re-read when edited), the
    routing matrix for each card's group, and the pager."""
    ladder = load_ladder(ladder_file or desk.settings.ladder)
    ladder.check_against(desk.rules.notify)
    roster_store = desk.roster

    def current_roster() -> Roster:
        try:
            roster_store.refresh()
        except DeskError as exc:  # a broken edit: keep paging with the last good roster
            log.warning("roster file not reloaded: %s", exc)
        return roster_store.roster

    def current_routing() -> RoutingMatrix:
        current_roster()  # re-reads the file when it changed
        return roster_store.routing

    recipients = Recipients(current_roster, routing=current_routing,
                            hours=desk.rules.business_hours, default_group=default_group)
    return EscalationService(desk.journal, ladder, pager, recipients, desk.clock)
