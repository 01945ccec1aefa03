"""Settings: defaults, a settings file, flags on top; every mistake names the setting.

And every file the desk reads (settings, policies, shifts, ladder, roster), broken, gives one
ConfigError naming the file and the key, and through the command line one error line and
exit status 1: never a traceback, never a setting the store refuses later."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.config import load_settings
from app.errors import ConfigError
from app.services.cards.rules import DEFAULT_RULES

BINARY = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256))


def test_defaults_then_file_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('desk_code = "b"\noperator = "A. Novak"\njournal = "~/desk.sqlite"\n')
    settings = load_settings(file, {"operator": "M. Keller", "role": None})
    assert settings.desk_code == "B"
    assert settings.operator == "M. Keller"
    assert settings.role == "dispatcher"
    assert settings.journal_path == Path("~/desk.sqlite").expanduser()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('desk_code = "B7"', "desk_code 'B7': use 1 to 3 letters"),
        ('role = "boss"', "role 'boss': use one of"),
        ("font_scale = 9", "font_scale: use a number from 0.5 to 4.0"),
        ('colour = "red"', "unknown setting 'colour'"),
        ("operator = 3", "operator: expected text"),
        ("desk_code = ", "settings file"),
        ('operator = "A.\\u001b[2J Novak"', "operator 'A.\\\\x1b\\[2J Novak': holds the control"),
        ('operator = "A. Novak\\nshift lead"', "must be one line"),
        (f'operator = "{"N" * 300}"', "the name is 300 characters; keep it to 80"),
        ('desk_code = "\\u001b"', "desk_code '\\\\x1b': use 1 to 3 letters"),
        ('store_url = "https://store.example\\n/evil"', "store_url .*must be one line"),
        ('store_url = "https://store\\u0007.example"', "store_url .*holds the control"),
        ("journal = 5", "journal: expected a file path"),
        ('journal = "desk\\u0000.sqlite"', "journal: the path .* holds a control character"),
    ],
)
def test_a_bad_settings_file_names_the_setting(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(file)


def test_a_mistake_in_the_file_names_the_file_and_a_flag_does_not(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(f'operator = "{"N" * 81}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(file)
    assert err.value.field == "operator"
    assert err.value.message.startswith(f"settings file {file}: operator 'NNN")
    file.write_text('operator = "A. Novak"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(file, {"operator": "N" * 81})
    assert err.value.message.startswith("operator 'NNN")  # from --operator, not the file
    assert load_settings(file, {"operator": "N" * 80}).operator == "N" * 80


def test_a_binary_settings_file_says_what_to_do(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_bytes(BINARY)
    with pytest.raises(ConfigError) as err:
        load_settings(file)
    assert err.value.message == (f"settings file {file}: is not UTF-8 text; save it as UTF-8, "
                                 "or give another file with --config")


def test_a_named_settings_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


# -- every loader, through the command line --------------------------------------------------

POLICIES = DEFAULT_RULES.read_text(encoding="utf-8")
ONE_TIER = '[[tier]]\nperson = "dora"\n'


@pytest.mark.parametrize(
    ("name", "content", "argv", "message"),
    [
        ("settings.toml", BINARY, ["--config", "{file}", "card", "list"],
         "settings file {file}: is not UTF-8 text"),
        ("settings.toml", f'operator = "{"N" * 300}"'.encode(), ["--config", "{file}", "card",
                                                                 "list"],
         "settings file {file}: operator 'NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN'...: the name "
         "is 300 characters; keep it to 80"),
        ("settings.toml", b'operator = "A.\\u001b[2J Novak"', ["--config", "{file}", "card",
                                                                 "list"],
         "settings file {file}: operator 'A.\\x1b[2J Novak': holds the control character "
         "\\x1b; remove it"),
        ("policies.toml", BINARY, ["--policies", "{file}", "card", "list"],
         "cannot read the policy file {file}: it is not UTF-8 text"),
        ("policies.toml", POLICIES.replace("observation_minutes = 30",
                                           "observation_minutes = -5").encode(),
         ["--policies", "{file}", "card", "list"],
         "policies.toml.observation_minutes = -5: use a whole number of minutes from 0 to 10080"),
        ("shifts.toml", BINARY, ["handover", "--shifts", "{file}"],
         "cannot read the shift file {file}: it is not UTF-8 text"),
        ("shifts.toml", b"overlap_minutes = -5", ["handover", "--shifts", "{file}"],
         "shifts.toml: overlap_minutes = -5: use a whole number of minutes from 0 to 1440"),
        ("ladder.toml", BINARY, ["ladder", "check", "{file}"],
         "cannot read the ladder file {file}: it is not UTF-8 text"),
        ("ladder.toml", ('[[tier]]\nrole = "primary"\nwait = -5\n' + ONE_TIER).encode(),
         ["ladder", "check", "{file}"], "{file}: tier 1.wait: -5 must be more than 0 seconds"),
        ("roster.toml", BINARY, ["roster", "import", "{file}"], "{file}: is not UTF-8 text"),
        ("roster.toml", b'[[contact]]\nid = "eve"\nname = "Eve\\u001b[2J"\n',
         ["roster", "import", "{file}"],
         "{file}: line 1, [[contact]] #1: key 'name' holds the control character \\x1b"),
    ],
)
def test_each_bad_file_is_one_error_line_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes,
    argv: list[str], message: str
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    settings = tmp_path / "good-settings.toml"
    settings.write_text('operator = "A. Novak"\n')
    args = [a.replace("{file}", str(file)) for a in argv]
    if "--config" not in args:
        args = ["--config", str(settings), *args]
    code = main(["--journal", str(tmp_path / "desk.sqlite"), *args])
    out, err = capsys.readouterr()
    assert code == 1, out
    assert err.startswith("dispatch-desk: error: ") and err.count("\n") == 1
    assert message.replace("{file}", str(file)) in err


def test_a_binary_policy_file_ends_the_process_with_one_line(tmp_path: Path) -> None:
    """The same as a person sees it: exit status 1, one line on stderr, no traceback."""
    bad = tmp_path / "policies.toml"
    bad.write_bytes(BINARY)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--journal", str(tmp_path / "desk.sqlite"), "--policies",
         str(bad), "card", "list"], capture_output=True, text=True, env=env, timeout=120,
        cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 1
    assert done.stderr == (f"dispatch-desk: error: cannot read the policy file {bad}: it is not "
                           "UTF-8 text; save it as UTF-8, or give the right file with "
                           "--policies\n")
    assert done.stdout == ""
