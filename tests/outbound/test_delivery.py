"""Card events reach a real loopback receiver, signed, chosen per subscription, retried with a
capped exponential backoff on a fake clock (the worker is stepped by hand: no sleeps), held
and shown on a permanent refusal, never lost, never sent out of order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import ValidationError
from app.models.entry import NewEntry
from app.services.outbound import outcome_of, retry_delay
from tests.domain.conftest import DISPATCHER, LEAD
from tests.memory_keyring import MemoryKeyring
from tests.outbound.conftest import Desk
from tests.outbound.receiver import free_port

DOCUMENTED = {"version", "event", "event_id", "number", "id", "priority", "status", "site",
              "category", "summary", "at", "desk", "operator", "detail"}


def _life(desk: Desk, number: str) -> None:
    """Everything that happens to a card, events and non-events alike."""
    desk.cards.change_priority(number, "P1", "hospital wing affected", LEAD)
    desk.cards.add_note(number, "vendor called", DISPATCHER)
    desk.cards.acknowledge(number, "P. Braun", "phone", DISPATCHER)
    desk.cards.change_status(number, "in_progress", DISPATCHER)
    desk.cards.change_status(number, "restored", DISPATCHER)
    desk.cards.change_status(number, "closed", DISPATCHER, confirmed_by="J. Weber", closure={
        "cause": "PSU", "workaround": "none", "fix": "new PSU", "lessons": "spares"})


def test_a_cards_life_reaches_the_receiver_signed_in_the_documented_shape(desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        name = desk.subscribe(receiver)
        number = desk.register()
        _life(desk, number)
        assert desk.worker.step() is None  # all delivered, nothing scheduled
        assert receiver.events() == [("registered", number), ("priority", number),
                                     ("acknowledged", number), ("restored", number),
                                     ("closed", number)]
        assert len(receiver.received) == 5 and all(r.signed and r.fresh
                                                   for r in receiver.received)
        first = receiver.received[0]
        body = first.json
        assert set(body) == DOCUMENTED
        # The card as it stood at the event: registered P2, though it is P1 and closed now.
        assert (body["priority"], body["status"], body["site"], body["category"]) == \
            ("P2", "registered", "HQ", "network")
        assert body["summary"] == "Core switch down" and body["desk"] == desk.journal.desk_id
        assert first.headers["x-dispatch-event"] == "registered"
        assert first.key == body["event_id"] and first.headers["x-dispatch-attempt"] == "1"
        assert first.headers["content-type"] == "application/json"
        prio = receiver.received[1].json
        assert prio["priority"] == "P1" and prio["detail"] == {
            "from": "P2", "reason": "hospital wing affected"}
        assert receiver.received[2].json["detail"] == {"who": "P. Braun", "how": "phone"}
        assert receiver.received[4].json["detail"]["closure"]["fix"] == "new PSU"
        assert desk.worker.step() is None and len(receiver.received) == 5  # once each
        view = desk.view(name)
        assert (view["delivered"], view["waiting"], view["state"]) == (5, 0, "ok")
    secret = receiver.secret.encode()
    assert secret not in desk.journal.path.read_bytes()  # the keyring only


def test_each_subscription_gets_only_the_events_it_chose(desk: Desk) -> None:
    with desk.receiver().start() as board, desk.receiver().start() as field:
        desk.subscribe(board, "registered,closed", name="psa")
        desk.subscribe(field, "acknowledged", name="field")
        number = desk.register()
        _life(desk, number)
        desk.worker.step()
        assert board.events() == [("registered", number), ("closed", number)]
        assert field.events() == [("acknowledged", number)]
        assert all(r.signed for r in board.received + field.received)


def test_events_before_the_subscription_are_not_sent(desk: Desk) -> None:
    old = desk.register("printer jam")
    with desk.receiver().start() as receiver:
        desk.subscribe(receiver)
        new = desk.register()
        desk.worker.step()
        assert receiver.events() == [("registered", new)] and old != new


def test_a_receiver_down_then_up_gets_each_event_once_after_the_backoff(desk: Desk) -> None:
    receiver = desk.receiver(port=free_port())  # nobody listens there yet
    name = desk.subscribe(receiver)
    first = desk.register()
    assert desk.worker.step() == 10.0
    view = desk.view(name)
    assert view["state"] == "retrying" and view["attempt"] == 1
    assert "could not connect" in str(view["last_error"]) and view["waiting"] == 1
    assert desk.worker.step() == 10.0  # not due: no new try
    assert desk.view(name)["attempt"] == 1
    desk.clock.advance(10)
    assert desk.worker.step() == 20.0 and desk.view(name)["attempt"] == 2
    receiver.start()
    try:
        second = desk.register("printer on fire")
        desk.clock.advance(19)
        assert desk.worker.step() == 1.0 and receiver.received == []
        desk.clock.advance(1)
        assert desk.worker.step() is None
        assert receiver.events() == [("registered", first), ("registered", second)]
        assert len(receiver.received) == 2  # each exactly once: nothing lost, nothing doubled
        assert receiver.received[0].headers["x-dispatch-attempt"] == "3"
        view = desk.view(name)
        assert (view["state"], view["delivered"], view["waiting"], view["last_error"]) == \
            ("ok", 2, 0, None)
    finally:
        receiver.stop()


def test_5xx_and_429_are_retried_with_the_same_key_and_body_and_retry_after_obeyed(
        desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        receiver.script = [503, (429, {"Retry-After": "120"}), 200]
        name = desk.subscribe(receiver)
        desk.register()
        assert desk.worker.step() == 10.0
        desk.clock.advance(10)
        assert desk.worker.step() == 120.0  # the receiver asked for two minutes
        assert "429" in str(desk.view(name)["last_error"])
        desk.clock.advance(120)
        assert desk.worker.step() is None
        got = receiver.received
        assert [r.headers["x-dispatch-attempt"] for r in got] == ["1", "2", "3"]
        assert len({r.key for r in got}) == 1 and len({r.body for r in got}) == 1
        assert all(r.signed and r.fresh for r in got)  # each try signed at its own time
        assert len(receiver.unique()) == 1 and desk.view(name)["delivered"] == 1


def test_a_410_holds_the_subscription_visibly_until_retry(desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        receiver.script = [410]
        name = desk.subscribe(receiver)
        first = desk.register()
        second = desk.register("printer on fire")
        assert desk.worker.step() is None
        assert len(receiver.received) == 1  # the second is not sent past the held first
        view = desk.view(name)
        assert view["state"] == "failed" and "410" in str(view["last_error"])
        assert view["held"] == f"{first} registered" and view["waiting"] == 2
        shown = next(v for v in desk.hooks.views() if v.sub.name == name).state
        assert shown.startswith("FAILED (not retried)") and "webhook retry" in shown
        desk.clock.advance(timedelta(days=1))
        assert desk.worker.step() is None and len(receiver.received) == 1  # not retried
        desk.hooks.retry(name)  # the receiver was fixed
        assert desk.worker.step() is None
        assert receiver.events() == [("registered", first), ("registered", second)]
        assert desk.view(name)["state"] == "ok"


def test_a_held_event_can_be_skipped_on_purpose_and_is_counted(desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        receiver.script = [400]
        name = desk.subscribe(receiver)
        desk.register()
        desk.worker.step()
        later = desk.register("printer on fire")
        desk.hooks.retry(name, skip=True)
        desk.worker.step()
        assert [e for e, _ in receiver.events()] == ["registered", "registered"]
        assert receiver.events()[-1] == ("registered", later)
        view = desk.view(name)
        assert (view["skipped"], view["delivered"], view["state"]) == (1, 1, "ok")


def test_a_receiver_that_never_answers_times_out_and_is_retried(desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        name = desk.subscribe(receiver)
        receiver.hold.set()
        desk.register()
        assert desk.worker.step() == 10.0  # the read timeout (0.5 s here), not a hang
        assert "no answer within" in str(desk.view(name)["last_error"])
        receiver.hold.clear()
        desk.clock.advance(10)
        assert desk.worker.step() is None
        assert len(receiver.received) == 2 and len(receiver.unique()) == 1


def test_removing_a_subscription_stops_it_and_deletes_its_secret(desk: Desk) -> None:
    with desk.receiver().start() as receiver:
        name = desk.subscribe(receiver)
        sub = desk.hooks.remove(name, DISPATCHER.name, "moved to the new PSA")
        desk.register()
        assert desk.worker.step() is None and receiver.received == []
        assert desk.hooks.views() == []
        assert desk.hooks.secrets.get(sub.secret_name) is None
        kinds = [e.kind for e in desk.journal.entries("webhooks")]
        assert kinds == ["webhook.subscribed", "webhook.removed"]


@pytest.mark.parametrize(("url", "events", "name", "field", "words"), [
    ("ftp://psa.example.com/x", "all", None, "url", "http:// or https://"),
    ("https://user:pw@psa.example.com/x", "all", None, "url", "user or password"),
    ("https://psa.example.com/\x1b[2J", "all", None, "url", "control character"),
    ("https://psa.example.com/x", "registered,paged", None, "events", "paged"),
    ("https://psa.example.com/x", "", None, "events", "empty"),
    ("https://psa.example.com/x", "all", "two words", "name", "letters, digits"),
    ("https://psa.example.com/x", "all", "psa", "name", "taken"),
])
def test_a_bad_subscription_is_refused_naming_the_field_and_changes_nothing(
        desk: Desk, memory_keyring: MemoryKeyring, url: str, events: str, name: str | None,
        field: str, words: str) -> None:
    desk.hooks.add("https://psa.example.com/a", "all", "psa", DISPATCHER.name)
    before = (len(desk.journal.entries("webhooks")), dict(memory_keyring.entries))
    with pytest.raises(ValidationError) as caught:
        desk.hooks.add(url, events, name, DISPATCHER.name)
    assert caught.value.field == field and words in str(caught.value)
    assert (len(desk.journal.entries("webhooks")), dict(memory_keyring.entries)) == before


def test_subscriptions_live_under_their_pseudo_card_only(desk: Desk) -> None:
    payload = {"id": "x1", "name": "psa", "url": "https://psa.example.com/", "events": ["closed"]}
    with pytest.raises(ValidationError, match="belongs to card_id 'webhooks'"):
        desk.journal.write([NewEntry("not-webhooks", "webhook.subscribed", payload)], "ops")
    with pytest.raises(ValidationError, match="must be one of registered"):
        desk.journal.write([NewEntry("webhooks", "webhook.subscribed",
                                     {**payload, "events": ["paged"]})], "ops")
    assert desk.journal.entries("webhooks") == []


def test_the_backoff_doubles_from_10_s_to_a_15_min_cap_and_obeys_retry_after() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == \
        [10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert retry_delay(500).total_seconds() == 900
    assert retry_delay(1, retry_after_s=3).total_seconds() == 10
    assert retry_delay(1, retry_after_s=7200).total_seconds() == 3600


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"), (None, "retry"), (408, "retry"), (429, "retry"),
    (500, "retry"), (503, "retry"), (400, "permanent"), (401, "permanent"),
    (410, "permanent"), (422, "permanent"), (301, "permanent"),
])
def test_what_an_answer_means(status: int | None, outcome: str) -> None:
    assert outcome_of(status) == outcome
