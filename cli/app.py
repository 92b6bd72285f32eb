"""The `reciprocal` command: groups, global options, and the one place errors become exit codes."""
from __future__ import annotations

import copy as copy_module
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer
import typer.core
import typer.main
import typer.models

from reciprocal.errors import ReciprocalError

from cli.context import ReaderGone, err, out, parse_date, settings

# Every subcommand but `init` and `demo` (defined below) and where it lives, commands and then
# groups, each in the order `--help` lists them (`init` and `demo` come between the two). A command
# line loads only the module of the command it names (`reciprocal due` never imports the audit,
# pack or simulation commands); `--help` and a mistyped name load them all.
COMMANDS = {"bench": "cli.bench:bench", "simulate": "cli.simulate:simulate", "due": "cli.due:due",
            "circulate": "cli.circulate:circulate", "pack": "cli.pack:pack"}
GROUPS = {"config": "cli.config:config_app", "provider": "cli.provider:provider_app", "offer": "cli.offer:offer_app",
          "request": "cli.request:request_app", "round": "cli.round:round_app",
          "proposal": "cli.proposal:proposal_app", "move": "cli.move:move_app", "ledger": "cli.ledger:ledger_app",
          "audit": "cli.audit:audit_app", "report": "cli.report:report_app", "db": "cli.db:db_app",
          "answers": "cli.answers:answers_app"}
SUBCOMMANDS = {**COMMANDS, **GROUPS}


def subcommand(name: str):
    """The Typer app (a group) or the function (a command) that `reciprocal NAME` runs."""
    module, attribute = SUBCOMMANDS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


class _GlobalOptionsAnywhere(typer.core.TyperGroup):
    """The root group, which loads a subcommand's module when the command line names it, and
    also accepts its --db and --config after any subcommand (`reciprocal init --db X`, `reciprocal
    round run --db X`), as the README writes them: each command without an option of that name
    gets a copy that sets the same setting."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._shared = [p for p in self.params if p.name in ("db", "config")]
        for command in self._built.values():
            self._share(command)

    # Click reads and writes `commands`; here it is every command, each built when first named.
    @property
    def commands(self):
        return {name: self.get_command(None, name) for name in self.list_commands(None)}

    @commands.setter
    def commands(self, value):
        self._built = dict(value)

    def list_commands(self, ctx) -> list[str]:
        return [*COMMANDS, *(n for n in self._built if n not in SUBCOMMANDS), *GROUPS]

    def get_command(self, ctx, cmd_name: str):
        command = self._built.get(cmd_name)
        if command is None and cmd_name in SUBCOMMANDS:
            found = subcommand(cmd_name)
            if isinstance(found, typer.Typer):
                command = typer.main.get_group(found)
                command.name = cmd_name
            else:
                command = typer.main.get_command_from_info(
                    typer.models.CommandInfo(name=cmd_name, callback=found), pretty_exceptions_short=True,
                    rich_markup_mode=self.rich_markup_mode)
            self._built[cmd_name] = self._share(command)
        return command

    def _share(self, command):
        stack = [command]
        while stack:
            one = stack.pop()
            if isinstance(one, typer.core.TyperGroup):
                stack.extend(one.commands.values())
                continue
            for option in self._shared:
                if any(option.name == p.name or set(option.opts) & set(getattr(p, "opts", ()))
                       for p in one.params):
                    continue  # the command's own option of that name (demo --db) wins
                copy = copy_module.copy(option)
                copy.expose_value, copy.callback = False, _set_setting
                one.params.append(copy)
        return command


def _set_setting(ctx, param, value):
    if value is not None:
        setattr(settings(ctx), param.name, value)
    return value


app = typer.Typer(help="Managed reciprocal: match, move and keep the ledger fair.", cls=_GlobalOptionsAnywhere,
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True)


@app.callback()
def root(ctx: typer.Context,
         db: Optional[str] = typer.Option(None, "--db", help="Database path or URL (default: "
                                          "$RECIPROCAL_DATABASE_URL, else ./reciprocal.db)."),
         config: Optional[Path] = typer.Option(None, "--config", help="MoU config folder (default: "
                                               "$RECIPROCAL_CONFIG_DIR, else ./mou_configs).")):
    """Managed reciprocal: match, move and keep the ledger fair."""
    s = settings(ctx)
    s.db, s.config = db, config


@app.command()
def init(ctx: typer.Context):
    """Create the database (a SQLite file readable by its owner only) for the scheme."""
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(must_exist=False)
    db.create(scheme.id)
    out.print(f"Database {db.display()} is ready for {scheme.name}.")


@app.command()
def demo(ctx: typer.Context,
         db: Optional[Path] = typer.Option(None, "--db", help="Where to create the demo database "
                                           "(default: a new temporary folder)."),
         on: str = typer.Option("2026-11-23", help="The round's date (YYYY-MM-DD).")):
    """Run a full weekly cycle on the example scheme in a fresh embedded database."""
    from cli.demo import run_demo  # the demo loads the solver: only when asked
    run_demo(settings(ctx), db, parse_date(on, "--on"))


# A command is one short process that builds hundreds of thousands of small objects (rows, dicts,
# list entries) and keeps most of them until it ends. CPython's cycle collector, tuned for long
# programs, walked them again and again: a third of `circulate`'s CPU at national scale (4.0 s
# against 2.4 s), 2 s of `pack`'s and of `round run`'s, for no memory back (peak resident the same
# within 1%). Collecting young objects every 100,000 allocations instead of every 700, and the
# oldest rarely, keeps cycles collected without that walk.
GC_THRESHOLDS = (100_000, 20, 100)

# No pydantic plugin runs inside the command: one installed beside it (an observability package,
# say) would see every household's facts as the configs and the tables validate them, and looking
# for plugins read every installed package's metadata on each command's start (about 0.015 s of
# every state change). Whatever the environment asked for (`tests/cli/test_startup.py`).
PYDANTIC_PLUGINS_OFF = ("PYDANTIC_DISABLE_PLUGINS", "__all__")


def main() -> None:
    """Entry point: run the app and map every error to a message on stderr and an exit code."""
    gc.set_threshold(*GC_THRESHOLDS)
    os.environ[PYDANTIC_PLUGINS_OFF[0]] = PYDANTIC_PLUGINS_OFF[1]
    try:
        result = app(standalone_mode=False)
        sys.stdout.flush()  # here, so that a reader gone away is met below, not at exit
    except (ReaderGone, BrokenPipeError):
        _reader_gone()
        sys.exit(0)
    except ReciprocalError as exc:
        done = getattr(exc, "done_before", [])
        if done:  # changes made (and kept) before the command was refused: never silent
            out_ = "Before this command was refused, the configs as they are now changed (kept):\n"
            err.print(out_ + "\n".join("  " + line for line in done), markup=False)
        err.print(exc.message, markup=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad options or arguments
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(exc.message, markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # no traceback: locals may hold tenant data
        if os.environ.get("RECIPROCAL_DEBUG") == "1":
            raise
        err.print(f"internal error ({type(exc).__name__}); nothing more is shown to protect household "
                  f"data. Re-run with RECIPROCAL_DEBUG=1 to see the traceback.", markup=False)
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)


def _reader_gone() -> None:
    """Standard output's reader closed it (`| head -1`): what is left to print goes nowhere, and
    Python's own flush at exit finds nothing to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    main()
