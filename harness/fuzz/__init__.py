"""Composition fuzzing (``harness fuzz``): random graphs of registry entries (`programs`), how each is
judged and divergences localised to one op (`judge`), the budgeted search (`search`), its journal
(`journal`) and reproducers for findings (`reproducer`). Details and the declared composition
divergences: ``docs/fuzzing.md``.

To extend: see the module of the part you change.
"""
