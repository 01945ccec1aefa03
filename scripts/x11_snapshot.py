"""Wait until an X display shows a drawn window, then save a screenshot of it.

    python scripts/x11_snapshot.py DISPLAY OUT.png [--timeout 60] [--min-colours 16]

Grabs the root window through Qt's xcb platform (the same libraries the desk uses), every
0.25 s, until the picture has at least --min-colours distinct colours (an empty Xvfb screen
has one; a desk window with text, a queue and its colours has hundreds), or the time is up.
Exit status 0 when it saw a drawn window, 1 when not; the last line says which.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def distinct_colours(image: object, limit: int) -> int:
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    small = image.scaled(400, 225).convertToFormat(QImage.Format.Format_RGB32)
    seen: set[int] = set()
    for y in range(small.height()):
        for x in range(small.width()):
            seen.add(small.pixel(x, y))
        if len(seen) >= limit:
            break
    return len(seen)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("display")
    parser.add_argument("out")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--min-colours", type=int, default=16)
    args = parser.parse_args()
    os.environ["DISPLAY"] = args.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    screen = app.primaryScreen()
    deadline = time.monotonic() + args.timeout
    colours = 0
    while True:
        app.processEvents()
        shot = screen.grabWindow(0)
        colours = distinct_colours(shot.toImage(), args.min_colours)
        if colours >= args.min_colours or time.monotonic() > deadline:
            break
        time.sleep(0.25)  # the next grab; the condition is polled, not waited out
    shot.save(args.out)
    drawn = colours >= args.min_colours
    print(f"snapshot {args.out}: {shot.width()}x{shot.height()}, "
          f"{'a drawn window' if drawn else 'nothing drawn'} ({colours}+ colours)")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
