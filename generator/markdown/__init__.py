"""Markdown as GitHub shows it: parsing, highlighting, heading ids, links and the sanitizer."""
