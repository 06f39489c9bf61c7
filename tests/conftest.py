"""Shared fixtures; every test runs under the deterministic ci profile unless told otherwise."""

from __future__ import annotations

from tmem_conformance import profiles

profiles.load(profiles.default_profile())
