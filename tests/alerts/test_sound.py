"""The sounds: a distinct WAV per kind, played by the system's real player (ALSA's aplay to
its null device here: CI machines have no sound card); a desk with no player says so."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from app.adapters.sound import PATTERNS, CommandSound, NoSound, find_sound


def test_every_kind_has_its_own_tone_file(tmp_path: Path) -> None:
    sound = CommandSound("aplay", folder=tmp_path)
    lengths = {}
    for kind in PATTERNS:
        with wave.open(str(sound.file_for(kind))) as w:
            assert w.getframerate() == 22_050 and w.getnchannels() == 1
            lengths[kind] = w.getnframes()
    assert len(set(lengths.values())) == len(PATTERNS)  # no two kinds sound alike


def test_aplay_plays_the_tone_to_the_device_named(tmp_path: Path) -> None:
    player = shutil.which("aplay")
    if player is None:
        pytest.fail("aplay is missing: install alsa-utils (scripts/run-tests.sh does)")
    sound = find_sound({"DD_SOUND_DEVICE": "null"},
                       which=lambda name: player if name == "aplay" else None)
    assert isinstance(sound, CommandSound)
    assert sound.describe() == "sounds through aplay on null"
    assert sound.play("p1") and sound.played == ["p1"]
    (proc,) = sound.running
    assert proc.wait(timeout=10) == 0, proc.stderr.read() if proc.stderr else ""


def test_a_desk_without_a_player_says_it_is_silent() -> None:
    sound = find_sound({}, which=lambda name: None)
    assert isinstance(sound, NoSound) and not sound.play("p1")
    assert sound.describe().startswith("NO SOUND") and "alsa-utils" in sound.describe()
