"""Message-level signals."""
