"""The one door in, on the desk: the triage tray, its rules, de-duplication, maintenance
windows and integrations. Other parts use this surface; the modules behind it may change."""

from app.services.intake.integrations import Integration, by_key, key_hash
from app.services.intake.maintenance import Window
from app.services.intake.rules import Classification, IntakeRules, parse_intake_rules
from app.services.intake.service import RULES_OPERATOR, IntakeService, Outcome
from app.services.intake.tray import ACCEPTED, ATTACHED, DISMISSED, PENDING, TrayItem

__all__ = [
    "ACCEPTED", "ATTACHED", "DISMISSED", "PENDING", "RULES_OPERATOR", "Classification",
    "Integration", "IntakeRules", "IntakeService", "Outcome", "TrayItem", "Window", "by_key",
    "key_hash", "parse_intake_rules",
]
