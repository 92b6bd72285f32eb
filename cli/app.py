"""The `reciprocal` command: groups, global options, and the one place errors become exit codes."""
from __future__ import annotations

import copy as copy_module
import os
import sys
from pathlib import Path
from typing import Optional

import typer
import typer.core

from reciprocal.errors import ReciprocalError

from cli import (answers, audit, bench, circulate, db, due, ledger, move, offer, pack, proposal, report, request, round,
                 simulate)
from cli import config as config_group
from cli import provider as provider_group
from cli import scaffold
from cli.context import ReaderGone, err, out, parse_date, settings


class _GlobalOptionsAnywhere(typer.core.TyperGroup):
    """The root group, which also accepts its --db and --config after any subcommand
    (`reciprocal init --db X`, `reciprocal round run --db X`), as the README writes them: each
    command without an option of that name gets a copy that sets the same setting."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        shared = [p for p in self.params if p.name in ("db", "config")]
        stack = list(self.commands.values())
        while stack:
            command = stack.pop()
            if isinstance(command, typer.core.TyperGroup):
                stack.extend(command.commands.values())
                continue
            for option in shared:
                if any(option.name == p.name or set(option.opts) & set(getattr(p, "opts", ()))
                       for p in command.params):
                    continue  # the command's own option of that name (demo --db) wins
                copy = copy_module.copy(option)
                copy.expose_value, copy.callback = False, _set_setting
                command.params.append(copy)


def _set_setting(ctx, param, value):
    if value is not None:
        setattr(settings(ctx), param.name, value)
    return value


app = typer.Typer(help="Managed reciprocal: match, move and keep the ledger fair.", cls=_GlobalOptionsAnywhere,
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True)
config_group.config_app.command("init")(scaffold.config_init)
app.add_typer(config_group.config_app, name="config")
app.add_typer(provider_group.provider_app, name="provider")
app.add_typer(offer.offer_app, name="offer")
app.add_typer(request.request_app, name="request")
app.add_typer(round.round_app, name="round")
app.add_typer(proposal.proposal_app, name="proposal")
app.add_typer(move.move_app, name="move")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(report.report_app, name="report")
app.add_typer(db.db_app, name="db")
app.command("bench")(bench.bench)
app.command("simulate")(simulate.simulate)
app.command("due")(due.due)
app.command("circulate")(circulate.circulate)
app.command("pack")(pack.pack)
app.add_typer(answers.answers_app, name="answers")


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


def main() -> None:
    """Entry point: run the app and map every error to a message on stderr and an exit code."""
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
