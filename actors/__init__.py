"""The actor runtime: instance actors, activity tasks, smart-link mailboxes.

Modules, each with one job:

- ``store``     — the seams (Store, EventSink, ChildLauncher, VariableSource) and records.
- ``instance``  — :class:`InstanceActor`: runs or resumes one instance (``run()``, ``stop()``).
- ``blueprint`` — per runbook version, what every run needs, computed once and cached.
- ``runs``      — per instance: activity state, triggers, finished runs, template scopes.
- ``mailbox``   — the bounded, closeable inbox a link delivers into.
- ``lineage``   — how a run was triggered, in the opaque ``RunStart.lineage``.
- ``resume``    — matching recorded runs to replayed triggers.
- ``memory``    — the in-memory store, variables and child launcher; ``run_local``.

Semantics decided here (DESIGN.md leaves them open):

- A run's data references resolve through its *bindings*: for each activity
  on its path, the item it is bound to (a fan-out binds one item per run;
  flatten binds the items that passed the link, joined).
- Past a junction, an activity upstream of it that is not on the run's path
  (``spec.past``, decided at check-in by ``orch.document.reach``) means all
  of its final runs, which the junction waited for: joined with the
  referencing activity's ``flatten`` separator over every item in *item
  order* (``runs.run_order``: the (link, item) chain that started each run,
  so the order runs ended in does not matter), or — without flatten, where
  check-in proved there is at most one — its single item. Any other
  reference off the path (branches merging into one activity without a
  junction) reads the first item of that activity's latest run.
- ``flatten`` collapses the items of the run that triggers it: one run per
  triggering run (so per lineage above that fan-out).
- A junction with ``return_data_from`` publishes the items that arrived from
  that activity in item order (``run_order``, not arrival order); its item
  *k* keeps the bindings of the arrival it republishes, so downstream runs
  see that branch's lineage.
- ``loop.until`` is tested on every item of an attempt (on the common fields
  when it has none); the loop ends when any condition holds for any item.
- Runs of one activity execute at most ``RuntimeOptions.max_parallel_runs`` at
  once; further triggers queue in the activity's inbox (bounded by
  ``mailbox_capacity``; a full inbox makes the delivering run wait).
- Returned data: a successful run's ``set_returned_data`` applies name by
  name, the later-ending run winning; it is recorded with the run
  (``RunResult.returned_data``) so a resumed instance still returns it.
- A rerunnable run found in flight on resume runs again under its recorded
  run id (the store upserts its start); a non-rerunnable one is recorded
  ``interrupted`` (``ErrorSummary`` ``interrupted: server lost``) and routed.
"""
