"""Kept while the site moves to ``glossary.glossary_markdown``."""

from genlab.course.report.glossary import glossary_markdown

__all__ = ["glossary_markdown"]
