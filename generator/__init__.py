"""agentpages: a static site generator for catalogs of AI agent definition files."""

__version__ = "0.1.0"
