"""Workbooks from a Report: styles, live formulas with cached values, checks."""
