"""Behavioral signals: this message against what the organisation's mail history says is normal.

They read `ctx.baseline`, a `mailwarden.baselines.BaselineView` fetched for this message before
signals run, and return their neutral value when there is none (no store, or a store error):
behavior can only add evidence, never invent it.
"""
