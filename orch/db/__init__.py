"""The orchestration database: connecting, migrations, bootstrap, jobs, the store.

Import the submodules you need (``orch.db.connect``, ``orch.db.migrate``,
``orch.db.jobs``, ``orch.db.store`` ...); this package imports nothing heavy.
"""
