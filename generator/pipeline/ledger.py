"""The ledger: what a build records of its plan, page by page, for the next build to start from
(see pipeline/edit.py). What only a full build changes is one plain value, column by column;
what an edit changes is a row for each page, of which an edit writes the few it changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from generator.catalog.history import FileDates, repository_stamps
from generator.catalog.interpret import read_name
from generator.catalog.model import Catalog, PageLink
from generator.config import SiteConfig
from generator.pipeline.memo import Memo

if TYPE_CHECKING:
    from generator.catalog.load import RawAgent
    from generator.pipeline.read import AgentListing
    from generator.site.plan import PagePlan


def listing_state(listing: AgentListing) -> str:
    """Digest what listing the files found wrong (links out of the folder): findings of no file read."""
    return hashlib.sha256(json.dumps([finding.to_plain() for finding in listing.findings]).encode()).hexdigest()


def plan_head(raw: RawAgent) -> str:
    """Digest what the plan reads of a file: its path, name, category, weight and mentions."""
    head = [str(raw.rel_path), read_name(raw), raw.outline.name, raw.outline.category, raw.outline.weight,
            sorted(raw.mentions)]
    return hashlib.sha256(json.dumps(head, ensure_ascii=True).encode()).hexdigest()


class Row(NamedTuple):
    """What the ledger keeps of a page that an edit changes (see `cache.LEDGER_COLUMNS`)."""

    stamp: str
    """Its file's stamp when the build listed it ("" when too recent to trust)."""
    digest: str
    """Its file's content digest."""
    key: str
    """Its page's memo key."""
    added: float | None
    """When its file was added and last changed, as timestamps and as ISO texts (None without dates)."""
    updated: float | None
    added_text: str | None
    updated_text: str | None


class LedgerSite(NamedTuple):
    """What the plan of a whole site followed from, beside its files."""

    out_dir: str
    git_state: str
    """`repository_stamps` of the agents folder, as JSON."""
    parts: str
    """The commands', skills' and plugins' part of the site's state (see `states.site_state`)."""
    listing: str
    """The `listing_state`."""
    skipped: list[list[str]]
    """The files listed that are no page (empty, unreadable), each with its stamp."""


class Neighbours(NamedTuple):
    """What a page's plan holds beside its file: its neighbours ([name, url], or None), its
    category's position, and whether it lists relations."""

    before: list[str] | None
    after: list[str] | None
    category_position: int
    related: bool


@dataclass(frozen=True)
class Ledger:
    """The last build's plan, page by page in catalog order: what only a full build changes, column
    by column (plain data), and what an edit changes, a `Row` for each page."""

    site: LedgerSite
    files: list[str]
    """Each page's agent file: its path's text as listed."""
    heads: list[str]
    """Each file's `plan_head`."""
    slugs: list[str]
    links: list[list[Any]]
    """Each page's `Neighbours`, as plain data."""
    names: list[str]
    categories: list[str]
    site_stamp: str
    """The stamp of the site folder the last build left."""
    rows: list[Row]

    @classmethod
    def read(cls, memo: Memo) -> Ledger | None:
        """Return the ledger the last build recorded; None if there is none, or it is damaged."""
        stored = memo.last_ledger()
        if stored is None:
            return None
        plan, site_stamp, rows = stored
        if not isinstance(plan, list) or len(plan) != 7 or not all(isinstance(column, list) for column in plan):
            return None
        site, files, heads, slugs, links, names, categories = plan
        try:
            ledger = cls(LedgerSite(*site), files, heads, slugs, links, names, categories, site_stamp,
                         list(map(Row._make, rows)))
        except TypeError:
            return None
        return ledger if ledger._is_whole() else None

    def _is_whole(self) -> bool:
        """Tell whether the ledger has the shape this version gives it (the cache may hold anything)."""
        texts = [*self.site[:4], *self.files, *self.heads, *self.slugs, *self.names, *self.categories,
                 *(text for row in self.rows for text in row[:3])]
        return (len({len(column) for column in (self.files, self.heads, self.slugs, self.links, self.names,
                                                self.categories, self.rows)}) == 1
                and all(isinstance(text, str) for text in texts)
                and all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(text, str) for text in pair)
                        for pair in self.site.skipped)
                and all(isinstance(links, list) and len(links) == 4 and all(_is_link(link) for link in links[:2])
                        and isinstance(links[2], int) and isinstance(links[3], bool) for links in self.links))

    def neighbours(self, place: int) -> Neighbours:
        """Return what the plan of the page at `place` holds beside its file."""
        return Neighbours(*self.links[place])


def _is_link(link: object) -> bool:
    return link is None or (isinstance(link, list) and len(link) == 2 and all(isinstance(text, str) for text in link))


def page_row(stamp: str, digest: str, key: str, dates: FileDates | None) -> Row:
    """Return the `Row` of a page."""
    if dates is None:
        return Row(stamp, digest, key, None, None, None, None)
    return Row(stamp, digest, key, dates.added.timestamp(), dates.updated.timestamp(), dates.added.isoformat(),
               dates.updated.isoformat())


def row_dates(row: Row) -> FileDates | None:
    """Return the dates a `Row` holds."""
    if row.added_text is None or row.updated_text is None:
        return None
    return FileDates(datetime.fromisoformat(row.added_text), datetime.fromisoformat(row.updated_text))


def row_moments(row: Row) -> tuple[float, float] | None:
    """Return the dates a `Row` holds as timestamps (see `states.moments`)."""
    return (row.added, row.updated) if row.added is not None and row.updated is not None else None


def keep_ledger(
    memo: Memo, config: SiteConfig, site_stamp: str, parts: str, listing: AgentListing, plans: list[PagePlan],
    keys: list[str], dates: dict[Path, FileDates], catalog: Catalog,
) -> None:
    """Record a full build's plan for the next build to start from (see the module's docstring)."""
    if [agent.slug for agent in catalog.agents] != [plan.slug for plan in plans]:
        memo.forget_ledger()  # names that sort otherwise once made visible: the catalog's order is not the plan's
        return
    stamps = dict(listing.entries)
    files = [str(plan.raw.path) for plan in plans]
    pages = set(files)

    def link(page: PageLink | None) -> list[str] | None:
        return [page.name, page.url] if page else None

    agents = {agent.slug: agent for agent in catalog.agents}
    plan = [
        [str(config.out_dir), json.dumps(repository_stamps(config.agents_dir)), parts, listing_state(listing),
         [[file, stamp] for file, stamp in listing.entries if file not in pages]],
        files, [plan_head(plan.raw) for plan in plans], [plan.slug for plan in plans],
        [[link(plan.previous), link(plan.next), plan.category_position, bool(plan.relations.uses or plan.relations.used_by)]
         for plan in plans],
        [agents[plan.slug].name for plan in plans], [agents[plan.slug].category for plan in plans],
    ]
    rows = {place: page_row(stamps.get(file, ""), page.raw.digest, key, dates.get(page.raw.path))
            for place, (file, page, key) in enumerate(zip(files, plans, keys))}
    memo.record_ledger(plan, site_stamp, rows)
