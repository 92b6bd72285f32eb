"""Signs of life on stderr while long work runs (an import of thousands of rows, a benchmark).

`activity()` yields a `say(message)` function. On a terminal each message becomes a live line
with a spinner and a running clock; the next message stops the previous line's clock, so the
finished steps stay on screen with their times. Anywhere else (a pipe, a log, a script's
capture) the messages are printed as plain lines when `plain` is set, or not at all, so that
output read by scripts never carries a spinner. Nothing goes to stdout.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from cli.context import err


@contextmanager
def activity(*, plain: bool = False) -> Iterator[Callable[[str], None]]:
    if not err.is_terminal:
        def say_plain(message: str) -> None:
            if plain:
                err.print(f"{message}...", markup=False, highlight=False)
        yield say_plain
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(finished_text="[green]done[/green]"),
                  TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        current: list[int] = []

        def say(message: str) -> None:
            if current:
                progress.update(current[-1], total=1, completed=1)
            current.append(progress.add_task(message, total=None))

        try:
            yield say
        except BaseException:
            if current:  # leave the step that failed unfinished, and say so
                task = progress.tasks[-1]
                progress.update(current[-1], description=f"{task.description} (stopped)")
                progress.stop_task(current[-1])
            raise
        if current:
            progress.update(current[-1], total=1, completed=1)
