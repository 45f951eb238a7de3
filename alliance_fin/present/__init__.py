"""Presentation: a Report per report (sections, headline, checks) and seaborn figures."""
