"""tmem-conformance: a conformance suite for the Xen tmem hypercall ABI (v0 and v1)."""

__version__ = "0.1.0"
