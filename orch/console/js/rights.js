// What the caller may do, to hide the buttons it could not use (the API checks anyway).
// Admins may do everything. Otherwise a runbook's own `rights` (when the API sends
// them) win; else the caller's grants from /api/v1/me, inherited down folders.

function covers(target, path) {
  if (target === "/" || target === path) return true;
  return path.startsWith(target.endsWith("/") ? target : `${target}/`);
}

export function makeRights(me) {
  return {
    /** can("start", runbook) — runbook: an object with `path` (and maybe `rights`), or a path. */
    can(right, runbook) {
      if (me.is_admin) return true;
      if (runbook && typeof runbook === "object" && Array.isArray(runbook.rights)) {
        return runbook.rights.includes(right);
      }
      const path = typeof runbook === "string" ? runbook : runbook && (runbook.path || runbook.runbook_path);
      if (!path) return false;
      return (me.grants || []).some((g) => covers(g.target, path) && g.rights.includes(right));
    },
  };
}
