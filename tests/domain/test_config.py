"""Settings: defaults, a settings file, flags on top; every mistake names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError


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
    ],
)
def test_a_bad_settings_file_names_the_setting(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(file)


def test_a_named_settings_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
