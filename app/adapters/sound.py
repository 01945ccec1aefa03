"""Sounds the desk plays: one distinct pattern per kind of notice, through the system's player.

Qt's own sound effects live in the 170 MB PySide6-Addons wheel; the desk needs a handful of
tones, so it writes them as small WAV files (generated here, no assets) and plays them with
the first player the system has: PipeWire's `pw-play`, PulseAudio's `paplay`, ALSA's `aplay`.
`describe()` names the player and device, and says plainly when there is none — a silent
desk must say it is silent. Playing never blocks the window (the player runs on its own).
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import tempfile
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

RATE = 22_050
#: (frequency Hz, duration s) tones, 0 Hz a pause: each kind sounds different at once.
PATTERNS: dict[str, Sequence[tuple[float, float]]] = {
    "p1": [(1320, 0.16), (0, 0.06)] * 3 + [(1320, 0.32)],
    "intake": [(988, 0.14), (0, 0.05), (1319, 0.22)],
    "breach": [(440, 0.5), (0, 0.08), (440, 0.5)],
    "running_out": [(880, 0.12), (0, 0.12), (880, 0.12)],
    "last_tier": [(660, 0.2), (0, 0.05), (550, 0.2), (0, 0.05), (440, 0.3)],
    "link_down": [(330, 0.35), (0, 0.1), (262, 0.5)],
}
#: The players tried, in order, with how each is told the file (and a device, for aplay).
PLAYERS: Sequence[tuple[str, Sequence[str]]] = (
    ("pw-play", ()), ("paplay", ()), ("aplay", ("-q",)),
)


class Sound(Protocol):
    def play(self, kind: str) -> bool: ...
    def describe(self) -> str: ...


def write_tone(path: Path, pattern: Sequence[tuple[float, float]]) -> None:
    frames = bytearray()
    for freq, seconds in pattern:
        n = int(RATE * seconds)
        for i in range(n):
            # A short fade in and out of each tone: no click at its edges.
            edge = min(1.0, i / 200, (n - i) / 200)
            value = math.sin(2 * math.pi * freq * i / RATE) * edge if freq else 0.0
            frames += struct.pack("<h", int(value * 0.6 * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))


class CommandSound:
    """Plays through a system player; the WAV files are made once, in a private folder."""

    def __init__(self, player: str, args: Sequence[str] = (), device: str = "",
                 folder: Path | None = None) -> None:
        self.player, self.args, self.device = player, tuple(args), device
        self.folder = folder or Path(tempfile.mkdtemp(prefix="dispatch-desk-sounds-"))
        self.files: dict[str, Path] = {}
        self.played: list[str] = []  # what was played, for the window's "last sound" line
        self.running: list[subprocess.Popen[bytes]] = []

    def file_for(self, kind: str) -> Path:
        if kind not in self.files:
            path = self.folder / f"{kind}.wav"
            write_tone(path, PATTERNS.get(kind, PATTERNS["p1"]))
            self.files[kind] = path
        return self.files[kind]

    def command(self, kind: str) -> list[str]:
        device = ["-D", self.device] if self.device and self.player.endswith("aplay") else []
        return [self.player, *self.args, *device, str(self.file_for(kind))]

    def play(self, kind: str) -> bool:
        self.running = [p for p in self.running if p.poll() is None]  # reap the finished
        try:
            self.running.append(subprocess.Popen(
                self.command(kind), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE))
        except OSError as exc:
            log.warning("sound %s not played: %s", kind, exc)
            return False
        self.played.append(kind)
        return True

    def describe(self) -> str:
        where = f" on {self.device}" if self.device else " on the default output"
        return f"sounds through {Path(self.player).name}{where}"


class NoSound:
    def __init__(self, why: str) -> None:
        self.why = why

    def play(self, kind: str) -> bool:
        return False

    def describe(self) -> str:
        return f"NO SOUND: {self.why}"


def find_sound(env: Mapping[str, str], which: object = shutil.which) -> Sound:
    """The first player on this system; `DD_SOUND_DEVICE` picks an ALSA device (aplay)."""
    find = which if callable(which) else shutil.which
    for name, args in PLAYERS:
        path = find(name)
        if path:
            return CommandSound(str(path), args, env.get("DD_SOUND_DEVICE", ""))
    return NoSound("no sound player found (install pipewire-bin, pulseaudio-utils or "
                   "alsa-utils); notices are shown, not heard")
