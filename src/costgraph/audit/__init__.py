"""Audit: published claims re-derived from the rules, each with a verdict and its causes."""
