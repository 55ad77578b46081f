"""mailwarden: email attack detection with rules, behavior and models, explained."""

__version__ = "0.1.0"
