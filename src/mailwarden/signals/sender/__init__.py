"""Sender-level signals."""
