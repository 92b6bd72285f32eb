"""The README's worked weekly round runs as written (principle 10: examples in it are tested)."""
from __future__ import annotations

import re
import shlex

from tests.conftest import ROOT

README = ROOT / "README.md"


def worked_round_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Weeks of rounds, worked", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = []
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip()
        if command.startswith("reciprocal "):
            commands.append(command)
    return commands


def in_folder(argv: list[str], folder) -> list[str]:
    """Files the README writes (`--to packs`) and reads back (`packs/...`) are in the test's folder,
    not the checkout."""
    if "--to" in argv:
        argv[argv.index("--to") + 1] = str(folder / argv[argv.index("--to") + 1])
    return [str(folder / a) if a.startswith("packs/") else a for a in argv]


def test_readme_shows_make_demo_and_make_test_first():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert "make demo" in first_block and "make test" in first_block


def test_readme_worked_round_runs(tmp_path, launcher):
    """Each command a process of its own in the checkout, as a reader would type it there (forked
    by the launcher, its imports done: the worked weeks are twenty-odd commands)."""
    commands = worked_round_commands()
    assert len(commands) >= 8
    env = {"RECIPROCAL_DATABASE_URL": str(tmp_path / "readme.db")}
    for command in commands:
        argv = shlex.split(command)[1:]
        argv = in_folder(argv, tmp_path)
        proc = launcher.run(argv, cwd=ROOT, env=env)[0]
        assert proc.code == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr


# The workbook answers of the worked week, and the same answers as commands.
ANSWERS_BY_COMMAND = ["proposal advance 6 --by offering_landlord --on 2026-11-30",
                      "proposal advance 9 --by offering_landlord --on 2026-11-30",
                      "proposal refuse 8 --by offering_landlord --reason other --on 2026-11-30"]


def _fill_as_a_person_would(folder) -> None:
    """cam_valley_trust and fenland confirm the nomination of the proposal waiting on them,
    peterborough_city refuses its one; each choosing from the row's drop-down lists."""
    from openpyxl import load_workbook
    from tests.audits.test_answers import drop_down
    for member, action in (("cam_valley_trust", "confirm nomination"), ("fenland", "confirm nomination"),
                           ("peterborough_city", "refuse (offering landlord)")):
        path = folder / "packs" / f"{member}-2026-11-30.xlsx"
        book = load_workbook(path)
        sheet = book["Your proposals"]
        assert action in drop_down(sheet, "G2"), (member, drop_down(sheet, "G2"))
        sheet["G2"] = action
        if action.startswith("refuse"):
            sheet["J2"] = next(code for code in drop_down(sheet, "J2") if code == "other")
        book.save(path)


def test_the_week_answered_by_workbooks_equals_the_same_answers_by_commands(tmp_path, launcher):
    from reciprocal.storage import Database
    from tests.audits.test_answers import state
    from tests.conftest import resolve_url
    commands = worked_round_commands()
    (importing,) = [c for c in commands if c.startswith("reciprocal answers import")]
    finals = {}
    for way in ("workbooks", "commands"):
        folder = tmp_path / way
        folder.mkdir()
        env = {"RECIPROCAL_DATABASE_URL": str(folder / "readme.db")}
        for command in commands:
            if command == importing and way == "workbooks":
                _fill_as_a_person_would(folder)
            todo = [command] if command != importing or way == "workbooks" else \
                ["reciprocal " + c for c in ANSWERS_BY_COMMAND]
            for line in todo:
                proc = launcher.run(in_folder(shlex.split(line)[1:], folder), cwd=ROOT, env=env)[0]
                assert proc.code == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
                if line == importing:
                    assert "proposal 8 (RQ-0104 -> OF-2611-02): proposed -> refused" in proc.stdout, proc.stdout
        database = Database(resolve_url(str(folder / "readme.db")))
        finals[way] = state(database)
        database.engine.dispose()
    assert finals["workbooks"] == finals["commands"]
    assert any(p[3] == "refused" for p in finals["workbooks"]["proposals"])
