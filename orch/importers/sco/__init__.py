"""Importing System Center Orchestrator exports (``.ois_export``).

``parse_export`` reads the XML (hardened: no DTD, no entities, size and depth
limits), ``build`` translates it into orch documents with a report of what
could not be carried over; ``orch.gateway.sco_import`` writes the result in
one transaction. Module map: ``xmlread`` (the export's model), ``refs``
(published-data and variable references), ``mapping`` (one mapper per SCO
activity type), ``links`` (link triggers), ``build`` (runbooks).
"""

from orch.importers.sco.build import Built, BuiltRunbook, VariableSpec, build
from orch.importers.sco.mapping import MAPPERS
from orch.importers.sco.xmlread import MAX_EXPORT_BYTES, Export, ExportError, parse_export

__all__ = [
    "MAPPERS",
    "MAX_EXPORT_BYTES",
    "Built",
    "BuiltRunbook",
    "Export",
    "ExportError",
    "VariableSpec",
    "build",
    "parse_export",
]
