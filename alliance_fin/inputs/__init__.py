"""Data in: read, validate and edit line-ups; the input template."""
