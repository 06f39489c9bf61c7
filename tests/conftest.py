"""Shared fixtures; every test runs under the deterministic ci profile unless told otherwise."""

from __future__ import annotations

from hypothesis import settings

from tmem_conformance import profiles

settings.load_profile(profiles.default_profile())
