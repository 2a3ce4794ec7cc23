// The activity types (GET /api/v1/activity-types) and the runbook JSON Schema, read once
// per page: the palette, the properties forms and the link form's operators come from them.
import { get, getAll } from "../api.js";

export async function loadCatalog(signal) {
  const [types, runbookSchema] = await Promise.all([
    getAll("/activity-types", { signal }),
    get("/schemas/runbook.json", { signal }),
  ]);
  const byName = new Map();
  for (const t of types) {
    byName.set(t.type, t);
    if (t.plain_name) byName.set(t.name, t);
  }
  const defs = runbookSchema.$defs || {};
  const opSchema = ((defs.Condition || {}).properties || {}).op || {};
  const operators = Array.isArray(opSchema.enum) ? opSchema.enum
    : ["equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "matches", "not_matches", "lt", "le", "gt", "ge", "between"];
  return {
    types,
    runbookSchema,
    operators,
    find: (name) => (typeof name === "string" ? byName.get(name) || null : null),
  };
}
