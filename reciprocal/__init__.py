"""reciprocal: the pure core of a managed reciprocal scheme, and the application built on it.

Layers, bottom to top (a contract in tests/architecture holds them; see README "Developing"):
1. the pure core: `reciprocal.domain` (offers, requests, statuses, ledger accounts and the debt
   limit), `reciprocal.config` with its YAML reader `reciprocal.yaml_source`, `reciprocal.errors`:
   no SQL, no solver, no command line;
2. `matching`: rules, translation layer, objectives, solvers, explanations; only the pure core;
3. the application, one subpackage per job: `storage` (with its migrations), `intake`, `ledger`,
   `lifecycle` (run, decide, close, views), `audits` (verify, fairness, quarterly, scope, exports),
   `simulation` (with the instance generator);
4. `cli` (and `benchmarks`) on top.
"""
