"""Native shared libraries for the tests: faulty backends, and ctmem built as an implementer would."""
