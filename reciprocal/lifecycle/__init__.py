"""The round lifecycle in the database: `run` opens a round on the free pot and re-solves after a
decline (around the pure `matching.engine.solve_round`); `rounds` keeps the states, decisions and
the atomic close; `checklist` is the post-move checklist a close writes; `views` builds the round
as scripts and the terminal see it (README, Weeks of rounds, worked)."""
