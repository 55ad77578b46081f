"""Recipient-level signals."""
