"""The Deployment Manager side of integration packs: scaffold, install, describe.

- :mod:`orch.packs.scaffold` — ``orch ip new``: a ready-to-install pack.
- :mod:`orch.packs.install` — ``orch ip install``: pip into this environment,
  then describe what got installed (in a fresh interpreter, so the new code is
  imported cleanly) for registration (:mod:`orch.db.packs`).
- :mod:`orch.packs.describe` — ``python -m orch.packs.describe DIST``: the
  registration records of a distribution's packs, as JSON.
"""
