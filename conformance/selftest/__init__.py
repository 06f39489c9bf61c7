"""The suite measures itself: a catalogue of faulty hosts it must reject, and of legal variants it must pass."""
