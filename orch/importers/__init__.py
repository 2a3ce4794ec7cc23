"""Importers: runbooks from other automation products, turned into ``orch.runbook/1`` documents.

Each importer is a pure translation (bytes in, documents and a report out);
the gateway route writes what it produced in one transaction.
"""
