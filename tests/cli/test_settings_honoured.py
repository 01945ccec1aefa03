"""Every setting in settings.toml is honoured by every command that uses it: one row per
(setting, command), each with a value only that setting could have produced. (`store_url` is
shown by the sync tests on enrolled desks and `twilio_api_url` by the headless desk's test;
`font_scale` is the window's alone.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main

DEFAULTS = Path(__file__).resolve().parents[2] / "app" / "defaults"
P1 = ["card", "new", "--site", "HQ", "--symptom", "pump", "--impact", "high",
      "--urgency", "high", "--reason", "r", "--q-what", "a", "--q-where", "b", "--q-when", "c",
      "--q-workaround", "d", "--q-contact", "e"]


def _files(tmp: Path) -> dict[str, str]:
    """Copies of the shipped files with one mark each."""
    policies = tmp / "policies.toml"
    policies.write_text((DEFAULTS / "policies.toml").read_text().replace(
        '[[category]]\nkey = "network"',
        '[[category]]\nkey = "cooling_loop"\nlabel = "Cooling loop"\ndomain = "Facilities"\n'
        '[[category]]\nkey = "network"', 1))
    shifts = tmp / "shifts.toml"
    shifts.write_text((DEFAULTS / "shifts.toml").read_text().replace(
        'site = "Main dispatch centre"', 'site = "Harbour control room"'))
    ladder = tmp / "ladder.toml"
    ladder.write_text((DEFAULTS / "ladder.toml").read_text().replace(
        'name = "default"', 'name = "harbour night ladder"'))
    return {"policies": str(policies), "shifts": str(shifts), "ladder": str(ladder),
            "journal": str(tmp / "desk.sqlite")}


Check = Callable[[Callable[..., tuple[int, str, str]]], None]


def _card_new_uses_journal_policies_code_operator(run: Callable[..., tuple[int, str, str]]
                                                  ) -> None:
    code, out, err = run(*P1, "--category", "cooling_loop")  # only in the custom policies
    assert code == 0, err
    assert "HX-0001" in out  # desk_code
    code, out, _ = run("card", "show", "HX-0001")  # the same journal
    assert code == 0 and "R. Setting" in out  # operator, on the timeline


def _priority_obeys_role(run: Callable[..., tuple[int, str, str]]) -> None:
    assert run(*P1, "--category", "network")[0] == 0
    code, _, err = run("card", "priority", "HX-0001", "P2", "--reason", "x")
    assert code == 1 and "role 'observer' may not change a priority" in err


def _handover_uses_shifts(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = run("handover")
    assert code == 0, err
    assert "Harbour control room" in out


def _ladder_check_uses_ladder(run: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = run("ladder", "check")
    assert code == 0, err
    assert "harbour night ladder" in out


ROWS: list[tuple[str, dict[str, str], Check]] = [
    ("journal, policies, desk_code, operator",
     {"desk_code": "HX", "operator": "R. Setting"}, _card_new_uses_journal_policies_code_operator),
    ("role", {"desk_code": "HX", "role": "observer"}, _priority_obeys_role),
    ("shifts", {}, _handover_uses_shifts),
    ("ladder", {}, _ladder_check_uses_ladder),
]


@pytest.mark.parametrize(("what", "extra", "check"), ROWS, ids=[r[0] for r in ROWS])
def test_each_setting_reaches_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          what: str, extra: dict[str, str], check: Check) -> None:
    values = {**_files(tmp_path), **extra}
    config = tmp_path / "settings.toml"
    config.write_text("".join(f'{k} = "{v}"\n' for k, v in values.items()))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    check(run)
