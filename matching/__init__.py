"""matching: the hard rules, the objectives, the OR-Tools model and the explanations.

Depends on `reciprocal` (the domain); never the reverse. The model sees only the translation
layer (`matching.instance`), never ORM rows.
"""
