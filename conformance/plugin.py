"""pytest plugin (entry point pytest11): hypothesis profiles for the suite."""

from __future__ import annotations

from . import profiles  # noqa: F401  (registers dev, ci and thorough)
