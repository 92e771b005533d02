"""The search index's pages of commands, skills and plugins: each by the key its card has on the
index (`kind:slug`), with its terms from the text of its file.

They follow the agents' pages in the index. There are few of them, so their terms are counted
afresh in every build that is not a no-op; a digest of all of them tells whether the last
index still holds them as they are, or must be made afresh.
"""

from __future__ import annotations

import hashlib
import json

from generator.site.components import Components, index_entries
from generator.site.plan import plugin_slug
from generator.site.search_terms import PageTerms, component_terms

COMPONENT_TERMS_VALUE = "search terms of components"
"""The memo value holding the digest of the components' pages in the last search index."""

ComponentPage = tuple[str, PageTerms]
"""A component's key in the search index (its card's `kind:slug`) and its terms."""


def component_pages(components: Components | None) -> list[ComponentPage]:
    """Return every plugin, command and skill as a page of the search index, in the index page's order."""
    if components is None:
        return []
    bodies = {("command", slug): command.body for command, slug, _ in components.commands}
    bodies |= {("skill", slug): skill.body for skill, slug, _ in components.skills}
    plugins = components.marketplace.plugins if components.marketplace is not None else ()
    labels = {("plugin", plugin_slug(plugin.name)): " ".join([plugin.category, *plugin.keywords]) for plugin in plugins}
    return [(f"{entry.kind}:{entry.slug}",
             component_terms(entry.name, entry.summary, " ".join([entry.kind, entry.plugin, labels.get((entry.kind, entry.slug), "")]),
                             bodies.get((entry.kind, entry.slug), "")))
            for entry in index_entries(components)]


def pages_digest(pages: list[ComponentPage]) -> str:
    """Digest the components' pages: their keys, order and terms."""
    plain = [[key, terms.to_plain()] for key, terms in pages]
    return hashlib.sha256(json.dumps(plain, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()
