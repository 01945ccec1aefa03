"""The keys of a voice page and the TwiML that asks for them, shared by the desk's pager
(inline TwiML when Twilio cannot reach the store) and the store (which serves it).

    4 (or 1, the old key)  acknowledge      5  escalate now      6  decline

With the store reachable by Twilio, a call's TwiML comes from the store
(``/twilio/voice/page``) and its ``<Gather>`` posts the key back there
(``/twilio/voice/gather``), which writes the entries at once. Without a public store address
there is nobody to post a key to: the call reads the page and says to answer the SMS.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

ACKNOWLEDGED, ESCALATED, DECLINED = "acknowledged", "escalated", "declined"
KEYS = {"1": ACKNOWLEDGED, "4": ACKNOWLEDGED, "5": ESCALATED, "6": DECLINED}
PROMPT = "Press 4 to acknowledge, 5 to escalate, 6 to decline."
NO_KEYS = ("To acknowledge, escalate or decline, reply to the text message with its code. "
           "The code is in the message.")
_AFTER = {
    ACKNOWLEDGED: "Acknowledged. The card is yours. Thank you.",
    ESCALATED: "Escalated. The desk pages the next person now.",
    DECLINED: "Declined. The desk pages the next person now.",
}


def outcome_for_digits(digits: str) -> str:
    """A key pressed as a call outcome ("pressed 9" for a key that does nothing)."""
    pressed = digits.strip()[:1]
    return KEYS.get(pressed, f"pressed {pressed or 'nothing'}")


def page_twiml(say: str, gather_action: str | None) -> str:
    """The call: the page, then the keys (said twice) when a key can be posted somewhere,
    else the way to answer by SMS."""
    response = VoiceResponse()
    text = say.strip()
    if gather_action is None:
        response.say(f"{text} {NO_KEYS}", loop=2)
        return str(response)
    gather = response.gather(num_digits=1, action=gather_action, method="POST", timeout=8)
    gather.say(f"{text} {PROMPT}", loop=2)
    response.say("No key was pressed. The desk will page someone else. Goodbye.")
    return str(response)


def after_key_twiml(outcome: str, again: str | None = None) -> str:
    """What the person hears after pressing a key; a key that does nothing asks again
    (``again``: the page's URL, fetched anew)."""
    response = VoiceResponse()
    if outcome in _AFTER:
        response.say(_AFTER[outcome])
        response.hangup()
    elif again:
        response.say("That key does nothing.")
        response.redirect(again, method="POST")
    else:
        response.say("That key does nothing. Reply to the text message instead. Goodbye.")
    return str(response)
