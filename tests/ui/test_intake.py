"""The intake form on a real journal: register, refuse naming the missing answer, suggest
duplicates and attach, flag a probable emergency, keep the draft, follow the spoken order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.application import Desk
from app.ui.events import DeskEvents
from app.ui.intake import DRAFT_META_KEY, IntakeForm
from tests.ui import intake_fixtures
from tests.ui.intake_fixtures import REPORT, Heard, fill, make_desk, register_directly

CTRL = Qt.KeyboardModifier.ControlModifier


# This module's desk (its clock and operator), shared with the other intake tests.
clock, desk, events = intake_fixtures.clock, intake_fixtures.desk, intake_fixtures.events


@pytest.fixture
def form(qtbot, desk: Desk, events: DeskEvents) -> IntakeForm:
    widget = IntakeForm(desk, events)
    qtbot.addWidget(widget)
    widget.resize(640, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    return widget


def test_register_from_the_form_with_ctrl_enter(qtbot, form, desk, events) -> None:
    heard = Heard.on(events)
    fill(form, REPORT)
    # The matrix suggested P1 (high x high) while impact and urgency were chosen.
    assert form.ui.priority.currentData() == "P1"
    assert "Suggested P1" in form.ui.suggestion.text()
    form.ui.inputs["q_when"].setFocus()
    with qtbot.waitSignal(form.registered, timeout=2000) as signal:
        qtbot.keyClick(form.ui.inputs["q_when"], Qt.Key.Key_Return, CTRL)
    number = signal.args[0]
    assert number == "B-0001"
    card = desk.cards.get(number)
    assert (card.priority, card.site, card.category) == ("P1", "Clinic North", "application")
    assert card.priority_reason == REPORT["priority_reason"]
    assert card.get("kind_of_work") == "emergency"
    assert card.get("q_where") == (
        "Clinic North, A, floor 1, room Reception 1.02, all six intake PCs"
    )
    assert card.get("q_contact") == (
        "R. Okafor, +49 30 5550 2201; confirms recovery: Dr. Haas, ward lead"
    )
    assert card.get("q_workaround") == "paper intake forms, slow; recovery urgency high"
    assert heard.errors == []
    assert heard.changes, "a registration must announce `changed`"
    # The form is ready for the next call, and the draft is gone.
    assert not any(form.values().values())
    assert not desk.journal.get_meta(DRAFT_META_KEY)


@pytest.mark.parametrize(
    ("left_out", "widget", "says"),
    [
        ("q_when", "q_when", "When did it start"),
        ("onsite_contact", "onsite_contact", "Who is the contact for feedback"),
        ("site", "site", "site"),
        ("priority_reason", "priority_reason", "priority reason is required"),
    ],
)
def test_refuses_naming_the_missing_answer_and_writes_nothing(
    qtbot, form, desk, events, left_out, widget, says
) -> None:
    heard = Heard.on(events)
    fill(form, {k: v for k, v in REPORT.items() if k != left_out})
    assert form.submit() is None
    assert len(heard.errors) == 1 and says in heard.errors[0]
    target = form.ui.inputs[widget]
    assert target.property("missing") is True
    assert says in target.toolTip()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is target, timeout=2000)
    assert desk.journal.count_cards() == 0
    assert heard.changes == []
    # Typing the answer clears the mark; the rest of the report is still there.
    fill(form, {left_out: REPORT[left_out]})
    assert not target.property("missing")
    assert target.toolTip() == ""
    assert form.values()["symptom"] == REPORT["symptom"]


def test_shows_the_same_incident_and_attaches_the_report(qtbot, form, desk, clock, events) -> None:
    heard = Heard.on(events)
    first = register_directly(desk, "Clinic North", "application", "Intake app down")
    register_directly(desk, "Clinic South", "application", "Intake app down")  # other site
    register_directly(desk, "Clinic North", "printing", "Printer jams")  # other category
    clock.advance(timedelta(minutes=20))
    heard.changes.clear()
    fill(form, {**REPORT, "site": "clinic north"})  # case does not hide a match
    assert form.submit() is None, "the first Ctrl+Enter shows the look-alikes instead"
    assert form.ui.matches_box.isVisible()
    assert [form.ui.matches.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(form.ui.matches.count())] == [first]
    assert "look like the same incident" in heard.infos[-1]
    assert desk.journal.count_cards() == 3
    form.ui.matches.setCurrentRow(0)
    assert form.ui.attach_button.text() == f"&Attach report to {first}"
    with qtbot.waitSignal(form.attached, timeout=2000) as signal:
        qtbot.mouseClick(form.ui.attach_button, Qt.MouseButton.LeftButton)
    assert signal.args == [first]
    card = desk.cards.get(first)
    assert card.report_count == 2
    report = desk.cards.timeline(first)[-1]
    assert report.kind == "card.report"
    assert report.payload["reporter"] == REPORT["reporter"]
    assert REPORT["q_what"] in report.payload["text"]
    assert desk.journal.count_cards() == 3
    assert heard.errors == [] and heard.changes


def test_second_ctrl_enter_registers_a_new_card_anyway(qtbot, form, desk, events) -> None:
    register_directly(desk, "Clinic North", "application", "Intake app down")
    fill(form, REPORT)
    assert form.submit() is None
    with qtbot.waitSignal(form.registered, timeout=2000) as signal:
        form.submit()
    assert signal.args == ["B-0002"]
    assert desk.journal.count_cards() == 2


def test_three_matching_reports_in_ten_minutes_flag_a_probable_emergency(
    qtbot, form, desk, clock, events
) -> None:
    first = register_directly(desk, "Clinic North", "application", "Intake app down")
    clock.advance(timedelta(minutes=4))
    desk.cards.attach_report(first, "ward 3", "intake down on ward 3 too", desk.operator)
    clock.advance(timedelta(minutes=4))
    fill(form, REPORT)  # the third report, 8 minutes after the first
    assert form.ui.emergency.isVisible()
    assert "PROBABLE EMERGENCY" in form.ui.emergency.text()
    assert "Clinic North" in form.ui.emergency.text()
    # The same three reports spread over more than 10 minutes are not flagged.
    clock.advance(timedelta(minutes=7))
    form.refresh_matches()
    assert form.ui.matches_box.isVisible()
    assert not form.ui.emergency.isVisible()


def test_two_reports_are_not_yet_an_emergency(qtbot, form, desk, clock) -> None:
    register_directly(desk, "Clinic North", "application", "Intake app down")
    clock.advance(timedelta(minutes=2))
    fill(form, REPORT)
    assert form.ui.matches_box.isVisible()
    assert not form.ui.emergency.isVisible()


def test_suggestion_follows_impact_and_urgency_until_the_dispatcher_overrides(form) -> None:
    fill(form, {"impact": "medium", "urgency": "medium"})
    assert form.ui.priority.currentData() == "P3"
    fill(form, {"urgency": "high"})
    assert form.ui.priority.currentData() == "P2"
    fill(form, {"priority": "P1"})
    fill(form, {"impact": "low"})
    assert form.ui.priority.currentData() == "P1", "a chosen priority is not overwritten"
    assert "Suggested P3" in form.ui.suggestion.text()
    assert "you chose P1" in form.ui.suggestion.text()


def test_escape_keeps_the_draft_for_the_next_form_and_after_a_crash(
    qtbot, form, desk, events, tmp_path, clock
) -> None:
    half = {k: REPORT[k] for k in ("reporter", "q_what", "symptom", "category", "impact")}
    fill(form, half)
    with qtbot.waitSignal(form.dismissed, timeout=2000):
        qtbot.keyClick(form.ui.symptom, Qt.Key.Key_Escape)
    again = IntakeForm(desk, events)
    qtbot.addWidget(again)
    assert {k: again.values()[k] for k in half} == half
    # A crash: the shared tick saved what was typed since; a new process finds it.
    fill(again, {"site": "Clinic North"})
    events.tick.emit()
    reopened = make_desk(tmp_path / "journal.sqlite", clock)
    try:
        after_crash = IntakeForm(reopened, DeskEvents(clock))
        qtbot.addWidget(after_crash)
        assert after_crash.values()["site"] == "Clinic North"
        assert after_crash.values()["q_what"] == REPORT["q_what"]
    finally:
        reopened.close()


def test_clear_can_be_undone_until_typing_starts(form) -> None:
    fill(form, REPORT)
    form.ui.clear_button.click()
    assert not any(form.values().values())
    assert form.ui.restore_button.isVisible()
    form.ui.restore_button.click()
    assert form.values()["q_what"] == REPORT["q_what"]
    assert form.ui.priority.currentData() == "P1"


def test_tab_follows_the_spoken_order_of_the_intake(qtbot, form) -> None:
    order = ["source_channel", "reporter", "kind_of_work", "q_what", "symptom", "category",
             "impact_scope", "affected_users", "impact", "risk_signs", "site", "building",
             "floor", "room", "equipment", "q_when", "tried", "workaround", "urgency",
             "onsite_contact", "confirmer", "priority", "priority_reason"]
    assert list(form.ui.inputs) == order
    form.ui.inputs["reporter"].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.ui.inputs["reporter"])
    for key in order[2:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = form.ui.inputs[key]
        qtbot.waitUntil(lambda w=widget: QApplication.focusWidget() in (w, w.focusProxy()),
                        timeout=1000)


def test_a_match_registered_elsewhere_appears_while_typing(qtbot, form, desk, events) -> None:
    fill(form, {"site": "Clinic North", "category": "application"})
    assert not form.ui.matches_box.isVisible()
    other = register_directly(desk, "Clinic North", "application", "Intake app down")
    events.announce(None)  # what the sync worker or another panel says after writing
    events.announce(None)
    assert not form.ui.matches_box.isVisible(), "changes are folded into the next tick"
    events.tick.emit()
    assert form.ui.matches_box.isVisible()
    assert form.ui.matches.item(0).data(Qt.ItemDataRole.UserRole) == other
    assert QApplication.focusWidget() is not form.ui.matches, "a new event never takes focus"


def test_site_completion_offers_sites_of_open_cards(qtbot, form, desk, events) -> None:
    register_directly(desk, "Clinic North", "application", "Intake app down")
    register_directly(desk, "Depot East", "power", "No power in hall 2")
    events.announce(None)
    site = form.ui.inputs["site"]
    site.setFocus()
    qtbot.waitUntil(site.hasFocus)
    qtbot.keyClicks(site, "de")
    completer = site.completer()
    qtbot.waitUntil(completer.popup().isVisible, timeout=2000)
    assert completer.currentCompletion() == "Depot East"


@pytest.mark.parametrize(("field", "value", "says"), [
    ("symptom", "x" * 301, "symptom is 301 characters; keep it to 300"),
    ("site", "Clinic\x1bNorth", "site holds the control character \\x1b"),
])
def test_text_the_catalogue_refuses_is_marked_on_its_field(qtbot, form, desk, events, field,
                                                          value, says) -> None:
    """The entry catalogue judges what the form sends; its refusal lands on the field, in the
    field's name, and nothing is saved."""
    heard = Heard.on(events)
    fill(form, {**REPORT, field: value})
    assert form.submit() is None
    assert len(heard.errors) == 1 and heard.errors[0].startswith(says)
    target = form.ui.inputs[field]
    assert target.property("missing") is True
    qtbot.waitUntil(lambda: QApplication.focusWidget() is target, timeout=2000)
    assert desk.journal.count_cards() == 0
