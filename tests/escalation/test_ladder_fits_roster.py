"""Issue 12: the shipped ladder and the shipped example roster fit together, and a tier
whose role has no rotation is an error in `ladder check`, not a silent skip at 03:00."""

from __future__ import annotations

from pathlib import Path

from app.adapters.roster_store import read_roster_file
from app.cli import main
from app.loaders import load_ladder
from app.services.escalation.ladder import parse_ladder
from app.services.escalation.recipients import tier_problems

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"
# The ladder as it shipped before: tier 3 a per-group "lead" rota no group has.
LEAD_LADDER = """
[[tier]]
role = "primary"
wait = "4m"
[[tier]]
role = "backup"
wait = "4m"
[[tier]]
role = "lead"
wait = "3m"
[[tier]]
person = "duty-manager"
"""


def test_the_shipped_ladder_fits_the_example_roster() -> None:
    loaded = read_roster_file(ROSTER)
    assert tier_problems(load_ladder(), loaded.roster, loaded.routing) == []


def test_a_role_no_routed_group_has_a_rotation_for_is_a_problem() -> None:
    loaded = read_roster_file(ROSTER)
    problems = tier_problems(parse_ladder(LEAD_LADDER), loaded.roster, loaded.routing)
    assert problems and all(p.startswith("tier 3 (on-call lead)") for p in problems)
    assert any("group 'hvac' has no 'lead' rotation" in p for p in problems)
    assert any("group 'duty' has no 'lead' rotation" in p for p in problems)


def test_a_missing_endpoint_person_is_a_problem() -> None:
    loaded = read_roster_file(ROSTER)
    ladder = parse_ladder(LEAD_LADDER.replace("lead", "backup").replace("duty-manager",
                                                                          "nobody"))
    assert tier_problems(ladder, loaded.roster, loaded.routing) == [
        "tier 4 (nobody): contact 'nobody' is not in the roster with a phone number; add "
        "them or change the ladder"]


def test_ladder_check_passes_the_shipped_files_and_refuses_a_lead_tier(tmp_path: Path,
                                                                       capsys) -> None:
    journal = str(tmp_path / "j.sqlite")
    assert main(["--journal", journal, "roster", "import", str(ROSTER)]) == 0
    assert main(["--journal", journal, "ladder", "check"]) == 0
    assert "ladder 'default': ok" in capsys.readouterr().out
    bad = tmp_path / "lead.toml"
    bad.write_text(LEAD_LADDER, encoding="utf-8")
    assert main(["--journal", journal, "ladder", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "tier 3 (on-call lead): group 'hvac' has no 'lead' rotation" in err
