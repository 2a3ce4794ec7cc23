"""The standard activities — itself an integration pack, written with the public SDK only."""

from __future__ import annotations

ACTIVITIES: list = []
