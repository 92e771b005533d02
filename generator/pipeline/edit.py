"""The plan stage's memo: an edit that leaves every file's place in the plan as it was.

A full build reads every file, plans every page and visits every page's key: at 20,000
agents that is most of an edit's time, though one file changed. So each build that writes
its site records its plan as a ledger (every page's file, stamp, slug, neighbours, dates and
key, in catalog order), and the next build asks it first. The ledger answers when what the
plan follows from is unchanged: the same files, the same git state, no commands, skills or
plugins, and each changed file keeping what the plan reads of it (its name, category,
weight, the names it mentions: `plan_head`). Then no other page's plan, key or entries can
have changed, and only the changed files' pages are rendered; the pages that list every
agent are joined from the kept entries as a full build joins them. Anything else (a new or
removed file, a renamed agent, a card that changed, a link to another file) is left to the
full pipeline, which the ledger only ever spares work.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates, read_file_dates, repository_stamps
from generator.catalog.model import Agent, Catalog, page_url
from generator.config import SiteConfig
from generator.errors import Finding, Report
from generator.pipeline.ledger import (
    Ledger,
    Row,
    listing_state,
    page_row,
    plan_head,
    row_dates,
    row_moments,
)
from generator.pipeline.memo import Manifest, Memo
from generator.store import output

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.lint import CheckedFile
    from generator.pipeline.read import AgentListing
    from generator.site.plan import PagePlan
    from generator.site.render import SiteContext
    from generator.site.search import SearchIndex
    from generator.site.search_terms import PageTerms

log = logging.getLogger(__name__)

MAX_EDITED_FILES = 60
"""Up to this many changed files, the ledger answers; more, and the full pipeline runs."""


class _LedgerFails(Exception):
    """Something the ledger cannot answer for came up while the edit was rendered: the full
    pipeline builds the site instead (nothing was written yet)."""


@dataclass(frozen=True)
class _Edited:
    """One changed file: its place in the ledger, its reading, its plan and the key of its page."""

    place: int
    checked: CheckedFile
    old: CheckedFile
    """The file's reading as the last build had it."""
    plan: PagePlan
    key: str


def edit_in_place(
    config: SiteConfig, report: Report, memo: Memo, listing: AgentListing, site_files: output.SiteFiles,
    inputs: str, progress: Callable[[int, int], None],
) -> tuple[Catalog, list[str]] | None:
    """Build the site by the ledger when it answers for this build (see the module's docstring):
    return the catalog (read when asked for) and the files changed; None, having written
    nothing and added nothing to `report`, when it does not answer."""
    reason = _why_not(config, memo, listing, site_files)
    if isinstance(reason, str):
        log.debug("the last build's plan does not answer for this build: %s", reason)
        return None
    ledger, touched, last = reason
    edited = _read_edited(config, memo, ledger, touched, dict(listing.entries))
    if edited is None or not edited.edited:
        log.debug("the last build's plan does not answer for this build: %s",
                  "a touched file changed what the plan reads of it" if edited is None else "no file changed")
        return None  # when none changed, the full pipeline finds nothing changed, and says so
    try:
        return _write_edit(config, report, memo, ledger, edited, last, site_files, inputs, progress)
    except _LedgerFails as failed:
        log.debug("the last build's plan does not answer for this build: %s", failed)
        return None


@dataclass(frozen=True)
class _Readings:
    """What the touched files hold now."""

    edited: list[_Edited]
    """The files that changed."""
    stamps: dict[int, str]
    """The new stamp of every touched file, by its place (a file touched but not changed keeps its page)."""
    dates: dict[Path, FileDates]
    """The changed files' dates."""


def _why_not(
    config: SiteConfig, memo: Memo, listing: AgentListing, site_files: output.SiteFiles,
) -> str | tuple[Ledger, list[int], tuple[Manifest, SearchIndex]]:
    """Return the ledger, the places of the files touched since and what the last build wrote;
    or why the ledger cannot answer."""
    ledger = Ledger.read(memo)
    if ledger is None or ledger.site[0] != str(config.out_dir):
        return "no plan recorded for this output folder"
    if listing.marketplace is not None or listing.other_entries:
        return "the catalog has commands, skills or plugins"
    if listing_state(listing) != ledger.site[3]:
        return "listing the files found other problems"
    current = dict(listing.entries)
    if len(current) != len(ledger.files) or not all(file in current for file in ledger.files):
        return "a file was added or removed"
    touched = [place for place, (file, row) in enumerate(zip(ledger.files, ledger.rows))
               if not current[file] or current[file] != row.stamp]
    if not touched or len(touched) > MAX_EDITED_FILES:
        return f"{len(touched)} files were touched"
    if any(ledger.links[place][3] for place in touched):
        return "a touched file's page lists relations"
    if json.loads(ledger.site[1]) != repository_stamps(config.agents_dir):
        return "git dates the files otherwise now"
    if site_files.stamp() != ledger.site_stamp:
        return "the site folder is not as the last build left it"
    last = memo.last_written()
    if last is None or (last[0].out_dir, last[0].stamp) != (str(config.out_dir), ledger.site_stamp):
        return "the last build's record of its site is not the plan's"
    return ledger, touched, last


def _read_edited(
    config: SiteConfig, memo: Memo, ledger: Ledger, touched: list[int], current: dict[str, str],
) -> _Readings | None:
    """Read and check the touched files; None when one of them changed what the ledger cannot
    answer for: its plan head, a link to another file, or a reading the cache no longer has."""
    from generator.catalog.load import file_digest, read_agent_bytes
    from generator.catalog.model import PageLink
    from generator.pipeline.read import read_and_check_file
    from generator.site.plan import PagePlan
    from generator.site.relations import NO_RELATIONS

    changed: list[tuple[int, CheckedFile, CheckedFile]] = []
    for place in touched:
        path = Path(ledger.files[place])
        data = read_agent_bytes(path, Report(), config.max_file_size)
        if data is None:
            return None
        if file_digest(data) == ledger.rows[place].digest:
            continue  # touched, not changed: its page stays as it is
        old = memo.get_file_head(path, ledger.rows[place].digest)  # read before the new reading replaces it
        # Kept by the memo once the edit is written (`_write_edit`): should the ledger not answer,
        # the full pipeline reads the file as any changed file.
        checked = memo.get_file(path, file_digest(data)) or read_and_check_file(config, path)
        why = ("the cache lost its last reading" if old is None else "it is no agent now" if checked.raw is None
               else "it links to another file" if checked.links
               else "it changed what the plan reads of it" if plan_head(checked.raw) != ledger.heads[place] else "")
        if why or old is None:
            log.debug("the last build's plan does not answer for %s: %s", path, why)
            return None
        changed.append((place, checked, old))
    dates = read_file_dates([checked.raw.path for _, checked, _ in changed if checked.raw], config.agents_dir, memo)
    edited = []
    for place, checked, old in changed:
        raw = checked.raw
        assert raw is not None
        before, after, position, _ = ledger.links[place]
        known = dates.get(raw.path)
        plan = PagePlan(raw, ledger.slugs[place], PageLink(*before) if before else None,
                        PageLink(*after) if after else None, updated=known.updated.strftime("%Y-%m-%d") if known else "",
                        category_position=position, relations=NO_RELATIONS)
        edited.append(_Edited(place, checked, old, plan, memo.page_key(plan)))
    return _Readings(edited, {place: current[ledger.files[place]] for place in touched}, dates)


def _write_edit(
    config: SiteConfig, report: Report, memo: Memo, ledger: Ledger, readings: _Readings,
    last: tuple[Manifest, SearchIndex], site_files: output.SiteFiles, inputs: str,
    progress: Callable[[int, int], None],
) -> tuple[Catalog, list[str]]:
    """Render the changed files' pages and the files listing every agent, put them in place and
    record the build; return the catalog (read when asked for) and the files changed. All that
    can make the ledger fail is looked at before the memo takes anything of this build."""
    from generator.errors import strict_failure
    from generator.pipeline.pages import render_pages
    from generator.pipeline.render import add_fragment, page_version, write_search
    from generator.pipeline.states import quick_state, site_after, site_state
    from generator.site.render import make_site_context
    from generator.site.search import ChunkMissing

    manifest, search = last
    pages = _check_record(memo, ledger, readings, search)
    findings = _swap_findings(memo, readings)
    if findings is None:
        raise _LedgerFails("the last build's findings are not in the cache")
    if config.strict and findings:
        for finding in findings:
            report.add(finding)
        raise strict_failure(report)
    rows = list(ledger.rows)
    for item in readings.edited:
        rows[item.place] = page_row(readings.stamps[item.place], item.plan.raw.digest, item.key,
                                    readings.dates.get(item.plan.raw.path))
    env = memo.environment(config)
    writer = output.SiteWriter(config.out_dir, manifest.files)
    try:
        # The pages link to no other file (see `_read_edited`): each needs its own slug alone.
        slugs = {item.plan.raw.rel_path: item.plan.slug for item in readings.edited}
        made = list(render_pages(config, [item.plan for item in readings.edited], slugs, writer.root, True, env))
        old_terms = [_old_terms(memo, ledger, item, agent) for item, (agent, _, _) in zip(readings.edited, made)]
        newest = _newest(memo, ledger, [file for file, _ in pages], rows,
                         {item.place: agent for item, (agent, _, _) in zip(readings.edited, made)})
        index_files = search.paths()  # the index's files are named anew by `write_search`
        for path, version in manifest.files.items():
            if path not in index_files:
                writer.keep(path, version)
        site = make_site_context(config)
        for item, (agent, compressed, terms), old in zip(readings.edited, made, old_terms):
            writer.staged(agent.url, page_version(item.key, agent, slugs))
            writer.staged(agent.raw_url, item.plan.raw.digest)
            kept = memo.put(item.plan, item.key, slugs, agent, compressed, terms)
            newest = [(place, kept if shown is agent else shown) for place, shown in newest]
            _keep_entries(env, site, memo, kept, item.key, readings.dates.get(item.plan.raw.path))
            search.replace(item.place, old, terms)
            add_fragment(writer, item.plan.slug, terms)
        write_search(writer, search)
        writer.add_parts("catalog.json", _catalog_json(site, memo, ledger, rows))
        _add_feeds(site, writer, ledger, rows, newest)
        changed = writer.commit()
    except ChunkMissing as missing:
        writer.discard()
        raise _LedgerFails(f"the cache lost part of the search index ({missing})") from None
    except BaseException:
        writer.discard()
        raise
    for finding in findings:
        report.add(finding)
    after = site_after(site_files, config, changed, True)
    changed_rows = _remember_files(memo, ledger, readings, rows)
    page_keys = dict(manifest.pages)
    for item in readings.edited:
        page_keys[page_url(item.plan.slug)] = item.key
    state = site_state(memo.fingerprint, config, ledger.site[2], ((row.key, row_moments(row)) for row in rows))
    memo.record_ledger(None, after.stamp(), changed_rows)
    layout = after.new_layout()
    memo.record_edit(quick_state(memo, config, inputs, after.stamp()), findings,
                     [(file, row.key) for (file, _), row in zip(pages, rows)], f"{state} {after.stamp()}",
                     Manifest(str(config.out_dir), memo.fingerprint, after.stamp(), dict(writer.versions), page_keys),
                     search, manifest.files, (config.out_dir, layout) if layout is not None else None)
    memo.stats.hits, memo.stats.misses = len(ledger.files) - len(readings.edited), len(readings.edited)
    progress(len(ledger.files), len(ledger.files))
    outcome = memo.last_outcome()
    return (outcome[1] if outcome else Catalog(())), changed


def _check_record(memo: Memo, ledger: Ledger, readings: _Readings, search: SearchIndex) -> list[tuple[str, str]]:
    """Return the last build's pages (file and key, in order) once they, its search index and its
    agents' stored entries are seen to be the ledger's."""
    from generator.site.entries import entry_key

    pages = memo.last_result_pages()
    if (pages is None or [key for _, key in pages] != [row.key for row in ledger.rows]
            or any(pages[item.place][0] != str(item.plan.raw.rel_path) for item in readings.edited)):
        raise _LedgerFails("the last build's record is not the ledger's")
    if search.slugs != ledger.slugs:
        raise _LedgerFails("the search index lists other pages")
    stored = memo.entry_keys()
    if any(stored.get(slug) != entry_key(row.key, row_moments(row)) for slug, row in zip(ledger.slugs, ledger.rows)):
        raise _LedgerFails("the cache lost an agent's entries")
    return pages


def _old_terms(memo: Memo, ledger: Ledger, item: _Edited, agent: Agent) -> PageTerms:
    """Return the words a changed page had, once its agent is seen to say what it said (what the
    index and the other files listing every agent show of it)."""
    old_key = ledger.rows[item.place].key
    if memo.digest_of(agent) != memo.stored_digest(item.plan.raw.rel_path, old_key):
        raise _LedgerFails(f"{item.plan.raw.rel_path} changed what the index says of it")
    terms = memo.get_terms(item.plan, old_key)
    if terms is None:
        raise _LedgerFails("the cache lost a page's words")
    return terms


def _remember_files(memo: Memo, ledger: Ledger, readings: _Readings, rows: list[Row]) -> dict[int, Row]:
    """Keep the changed files' readings, and the new stamps of those touched but not changed; return
    the ledger's rows that changed, by place (`rows` are brought up to date)."""
    changed_rows: dict[int, Row] = {}
    for item in readings.edited:
        memo.put_file(item.checked, readings.stamps[item.place])
        changed_rows[item.place] = rows[item.place]
    for place, stamp in readings.stamps.items():
        if place not in changed_rows:  # touched, not changed: known by its new stamp from now on
            rows[place] = changed_rows[place] = rows[place]._replace(stamp=stamp)
            if stamp:
                memo.restamp_file(Path(ledger.files[place]), stamp)
    return changed_rows


def _swap_findings(memo: Memo, readings: _Readings) -> list[Finding] | None:
    """Return the last build's findings with each changed file's own (its reading's) swapped for
    the new ones, in the order a full build reports them; None if they are not in the cache."""
    outcome = memo.last_outcome()
    if outcome is None:
        return None
    findings = outcome[0]
    edited = {item.plan.raw.path: item for item in readings.edited}
    kept = [finding for finding in findings if finding.path not in edited]
    for path, item in edited.items():
        # A full build adds a file's own findings before those of the rules over the catalog.
        others = [finding for finding in findings if finding.path == path]
        for finding in item.old.findings:
            if finding not in others:
                return None
            others.remove(finding)
        kept += item.checked.findings + others
    kept.sort(key=lambda finding: (str(finding.path), finding.line, finding.column))
    return kept


def _keep_entries(
    env: jinja2.Environment, site: SiteContext, memo: Memo, agent: Agent, key: str, dates: FileDates | None,
) -> None:
    """Render a changed agent's entries (card, catalog.json object, llms.txt line) into the memo."""
    from generator.site.entries import EntryKeys, EntryRenderer

    known = {agent.path: dates} if dates else {}
    renderer = EntryRenderer(env, site, known, EntryKeys({agent.slug: key}, frozenset(), {agent.slug: dates}), memo)
    renderer.render_early(agent)


def _catalog_json(site: SiteContext, memo: Memo, ledger: Ledger, rows: list[Row]) -> Iterator[str]:
    """Yield catalog.json joined from every agent's stored object, as a full build joins them."""
    from generator.site.entries import CATALOG_OBJECT, entry_key
    from generator.site.publish import catalog_json_parts

    def objects() -> Iterator[str]:
        stored = memo.entry_parts_in_order(CATALOG_OBJECT, ledger.slugs)
        for row, entry in zip(rows, stored):
            if entry is None or entry[0] != entry_key(row.key, row_moments(row)):
                raise _LedgerFails("the cache lost an agent's entries")
            yield entry[1]

    return catalog_json_parts(site, objects(), None)


def _newest(
    memo: Memo, ledger: Ledger, files: list[str], rows: list[Row], edited: dict[int, Agent],
) -> list[tuple[int, Agent]]:
    """Return the agents the feed shows (see `publish.render_feed`), each with its place: the
    changed ones as just rendered, the others read from the memo."""
    from generator.site.publish import FEED_LIMIT, newest_key

    newest = heapq.nsmallest(FEED_LIMIT, range(len(rows)), key=lambda place: newest_key(
        rows[place].updated, ledger.names[place], ledger.slugs[place]))
    shown = [(place, edited.get(place) or memo.last_agent(files[place], rows[place].key)) for place in newest]
    found = [(place, agent) for place, agent in shown if agent is not None]
    if len(found) != len(shown):
        raise _LedgerFails("the cache lost an agent")
    return found


def _add_feeds(
    site: SiteContext, writer: output.SiteWriter, ledger: Ledger, rows: list[Row], newest: list[tuple[int, Agent]],
) -> None:
    """Put feed.xml (of the `newest` agents) and, with a `site_url`, sitemap.xml into the writer."""
    from generator.site.publish import (
        FEED_NAME,
        SITEMAP_NAME,
        FeedItem,
        render_feed,
        render_sitemap,
    )

    known = {agent.path: dates for place, agent in newest if (dates := row_dates(rows[place])) is not None}
    writer.add(FEED_NAME, render_feed(site, Catalog.from_agents([agent for _, agent in newest]), known, None))
    if site["site_url"]:
        items = [FeedItem("agent", name, page_url(slug), slug, category, row_dates(row), str)
                 for name, slug, category, row in zip(ledger.names, ledger.slugs, ledger.categories, rows)]
        writer.add(SITEMAP_NAME, render_sitemap(site, items, None))
