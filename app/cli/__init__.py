"""The `dispatch-desk` command line. Each subcommand parses, calls one service, and prints;
errors are printed in one place (`main`) as one line, with a non-zero exit.

What is printed for a person goes through `emit`: card text, names and error messages come
from people, scripts, files and other desks, and a terminal obeys the control characters in
them (clear the screen, write the clipboard, move the cursor back over what was printed).
`print_json` needs no cleaning: JSON escapes every control character."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app import __version__
from app.cli import signin
from app.errors import DeskError
from app.protocol.text import for_terminal

EXIT_ERROR = 1
EXIT_USAGE = 2  # argparse's own code for a command line it cannot use

# Each module adds its subcommands with `register(subparsers)`; one line per module.
COMMAND_MODULES = (
    "app.cli.cards",
    "app.cli.journal",
    "app.cli.server",
    "app.cli.handover",
    "app.cli.roster",
    "app.cli.sync",
    "app.cli.ladder",
    "app.cli.run",
    "app.cli.report",
    "app.cli.intake",
    "app.cli.mail",  # after app.cli.intake: it adds its commands to that `intake` group
    "app.cli.webhook",
    "app.cli.outbox",
    "app.cli.operators",
    "app.cli.tokens",
    "app.cli.audit",
)


def _global_options(parser: argparse.ArgumentParser, default: Any = None) -> None:
    kw: dict[str, Any] = {"default": default}
    parser.add_argument("--journal", type=Path, help="journal file (default: user data folder)",
                        **kw)
    parser.add_argument("--policies", type=Path, help="dispatch rules TOML file", **kw)
    parser.add_argument("--config", type=Path, help="settings TOML file", **kw)
    parser.add_argument("--desk-code", help="letters that start this desk's card numbers", **kw)
    signin.add_options(parser, kw)  # --login, --pin-stdin, --token-name; --operator is gone


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: it takes the global options too (`card list --journal X`).

    Their default is SUPPRESS, so an option given before the subcommand is not overwritten by
    the subcommand's "not given". Nested subcommands (`card list`) get this class as well:
    argparse makes a subparser of the parser's own type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _global_options(self, argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dispatch-desk",
        description="Dispatch Desk: offline-first dispatch desk. Without a command, opens the "
        "desk window.",
        # The top level sees every option of the line, the subcommand's too: abbreviated
        # matching there would take `report --to` for `--token-name` (ambiguous).
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"dispatch-desk {__version__}")
    _global_options(parser)
    parser.add_argument("--demo", action="store_true", help="open on a demo shift")
    parser.add_argument("--fresh", action="store_true",
                        help="with --demo: start a new demo journal instead of reusing it")
    parser.add_argument("--wallboard", action="store_true", help="open the wallboard")
    parser.add_argument("--screen", type=int, metavar="N",
                        help="the screen (1, 2, ...) the wallboard fills; remembered")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def settings_from(args: argparse.Namespace) -> Any:
    from app.config import settings_from_args

    return settings_from_args(args)


def emit(text: object = "", *, lines: bool = False, file: TextIO | None = None) -> None:
    """Print `text` for a person: control and bidi characters become visible escapes (\\x1b);
    with `lines`, its line breaks are kept (the caller has indented what follows them)."""
    print(for_terminal(text, keep_newlines=lines), file=file or sys.stdout)


def print_json(data: Any) -> None:
    # ensure_ascii: a lone surrogate (a byte that was not UTF-8) becomes "\\udcff" instead of
    # an encoding error halfway through the output.
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str, ensure_ascii=True)
    sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None,
         window: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run one subcommand. With none, `window` opens the desk window (`app.__main__` passes
    it: the command line never imports the window, nor the window the command line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            if window is None:
                parser.print_help(sys.stderr)
                return EXIT_USAGE
            return int(window(args))
        result: int = args.handler(args)
        return result
    except DeskError as exc:
        # The message may quote what someone typed or a file holds: escaped, on one line.
        emit(f"dispatch-desk: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except EOFError:
        # A PIN or password prompt with nothing to read (no terminal, stdin closed).
        emit("dispatch-desk: error: nothing to read for the PIN or password asked for; in a "
             "script, pipe it in with --pin-stdin (or --stdin / --from-stdin where offered)",
             file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours; keep the exit quiet.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
