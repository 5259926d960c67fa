"""Reporting stage: text and table renderers shared by the CLI, notebooks and reports."""
