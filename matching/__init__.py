"""matching: the hard rules, the translation layer, the objectives, the solvers and the explanations.

It imports only the pure core of `reciprocal` (domain, config, errors), never storage, the
lifecycle or the CLI (a contract in tests/architecture holds it). The solvers see only the
translation layer (`matching.instance`), never ORM rows; `matching.engine.solve_round` is the one
entry point the application calls.
"""
