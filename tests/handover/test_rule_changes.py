"""The handover sheet lists this shift's rule changes: a roster import, a rules file changed,
an account change, an integration key, a desk the store enrolled -- one line each (time, who,
what), none from before the shift began and no sign-ins; "None." when there were none. On the
printed sheet (pdftotext) as well as in the drafted sheet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.adapters.print_sheets import handover_job
from app.adapters.printing import write_pdf
from app.adapters.roster_store import DEFAULT_EXAMPLE
from app.application import Desk
from app.clock import FakeClock
from app.models.entry import Entry, format_stamp
from app.protocol.catalogue import DESKS_CARD, INTEGRATIONS_CARD
from app.services.audit import record_config_changes
from app.services.handover.service import HandoverService
from app.services.handover.sheet import RULE_LINE_MAX
from app.services.operators import AddOperator, PinHasher
from tests.handover.conftest import pdf_text

HEADING = "Rule changes this shift"


def _remote(at: datetime, card: str, kind: str, payload: dict[str, object], desk_id: str,
            operator: str, seq: int) -> Entry:
    stamp = format_stamp(int(at.timestamp() * 1000), 0, desk_id)
    return Entry(f"00000000-0000-4000-8000-{seq:012d}", card, kind, payload, stamp, desk_id,
                 operator, server_seq=seq)


def test_the_sheet_lists_the_shifts_rule_changes(
        qapp: object, tmp_path: Path, desk: Desk, handover: HandoverService,
        clock: FakeClock) -> None:
    empty = handover.draft("M. Keller")
    assert empty.rule_changes == ()
    pdf = tmp_path / "none.pdf"
    write_pdf(handover_job(empty), pdf)
    assert f"{HEADING} (0) None." in pdf_text(pdf)

    desk.journal.apply_remote([
        # Yesterday's key from another desk: before the shift, so not on this sheet.
        _remote(datetime(2026, 11, 22, 23, 0, tzinfo=UTC), INTEGRATIONS_CARD,
                "integration.added", {"name": "old-probe", "kind": "heartbeat",
                                      "key_hash": "sha256:" + "0" * 64}, "d-other", "J. Doe", 1),
        # A desk the store enrolled this afternoon (14:05 Berlin).
        _remote(datetime(2026, 11, 23, 13, 5, tzinfo=UTC), DESKS_CARD, "store.desk_enrolled",
                {"desk_id": "d-north", "name": "North floor", "desk_code": "N"}, "store-s1",
                "store admin", 2),
    ])
    desk.roster.import_file(DEFAULT_EXAMPLE)  # 19:45, by the desk's operator
    rules = "/etc/dd/policies.toml"
    record_config_changes(desk.journal, {"site_rules": (rules, "a" * 64)}, "m.keller",
                          clock)  # the first sight of a file is only noted
    clock.advance(60)
    record_config_changes(desk.journal, {"site_rules": (rules, "b" * 64)}, "m.keller", clock)
    clock.advance(60)
    desk.intake.setup.add_integration("alertmanager", "prom-dc1", "M. Keller", site="DC 1")
    assert desk.operators is not None
    desk.operators.hasher = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)
    boss = desk.handle(AddOperator("boss", "B. Oss", ["admin"], "902113"))
    clock.advance(60)
    desk.sign_in("boss", "902113")  # a sign-in is no rule change

    sheet = handover.draft("M. Keller")
    assert boss.id == "boss"
    assert [line.split(" ", 1)[0] for line in sheet.rule_changes] == [
        "14:05", "19:45", "19:46", "19:47", "19:47"]
    first, roster, config, key, account = sheet.rule_changes
    assert first == "14:05 store admin: desk d-north (North floor, cards N) enrolled"
    assert roster.startswith("19:45 M. Keller: roster imported from ")
    assert len(roster) <= RULE_LINE_MAX and roster.endswith("...")  # in full: `audit`
    assert config == ("19:46 config check: site_rules file /etc/dd/policies.toml changed "
                      "(sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb), desk run by OS user m.keller")
    assert key == "19:47 M. Keller: integration key prom-dc1 (alertmanager) added for DC 1"
    assert account.startswith("19:47 ") and account.endswith("account boss added with roles "
                                                              "admin")
    assert not any("old-probe" in line or "signed in" in line for line in sheet.rule_changes)

    pdf = tmp_path / "changes.pdf"
    write_pdf(handover_job(sheet), pdf)
    text = pdf_text(pdf)
    start = text.index(f"{HEADING} (5)")
    section = text[start:text.index("Closed this shift", start)]
    for line in (first, config, key):
        assert line in section, line
    assert "roster imported from" in section and "account boss added" in section
