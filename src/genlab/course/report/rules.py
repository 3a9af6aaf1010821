"""Kept while the site moves to ``stats.glossary_markdown`` (the glossary, generated from the
declared statistics)."""

from genlab.course.report.stats import glossary_markdown

__all__ = ["glossary_markdown"]
