"""The plan stage's memo: an edit that leaves every file's place in the plan as it was.

A full build reads every file, plans every page and visits every page's key: at 20,000
agents that is most of an edit's time, though one file changed. So each build records its
plan as a ledger (pipeline/ledger.py: every page's file, stamp, slug, neighbours, dates and
key, in catalog order), and the next build asks it first. The ledger answers while what the
plan of the untouched files follows from is as it was (the same files, stamps, git state,
config and code; no commands, skills or plugins) and each touched file keeps what the plan
reads of it (name, category, weight, the names it mentions: `plan_head`). Each touched file
is then read, dated and planned again, and its page key decides, as in a full build, whether
its page, entries and words are made again; the files listing every agent are made anew
(the feed, the sitemap) or spliced: catalog.json (the changed objects in place of the old, the
bytes around them copied), and the index page and llms.txt when an agent's card or line
changed (a new description: each old card or line, found once in the file, replaced). Anything
else (a file added, removed or linking another, a renamed agent, a new color, model or tools,
which the index's filters count, a theme's own index page, a finding of a rule over the whole
catalog) is left to the full pipeline, which the ledger only ever spares work.
"""
from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Callable
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
from generator.store.site_folder import SiteFiles

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.lint import CheckedFile
    from generator.catalog.load import RawAgent
    from generator.pipeline.read import AgentListing
    from generator.site.entries import AgentEntries
    from generator.site.plan import PagePlan
    from generator.site.render import SiteContext
    from generator.site.search import SearchIndex
    from generator.site.search_terms import PageTerms

log = logging.getLogger(__name__)

MAX_EDITED_FILES = 60
"""Up to this many changed files, the ledger answers; more, and the full pipeline runs."""


@dataclass(frozen=True)
class Edit:
    """What a build the ledger answered made: the catalog (read when asked for), the files of the
    site it changed, and whether nothing changed at all."""

    catalog: Catalog
    changed: list[str]
    unchanged: bool = False


class _LedgerCannotAnswer(Exception):
    """Something the ledger cannot answer for came up while the edit was rendered: the full
    pipeline builds the site instead (nothing was written yet)."""


@dataclass(frozen=True)
class _Edited:
    """One changed file: its place in the ledger, its reading, its plan and the key of its page."""

    place: int
    checked: CheckedFile
    plan: PagePlan
    key: str


def edit_in_place(
    config: SiteConfig, report: Report, memo: Memo, listing: AgentListing, site_files: SiteFiles,
    inputs_key: str, progress: Callable[[int, int], None],
) -> Edit | None:
    """Build the site by the ledger when it answers for this build (see the module's docstring);
    None, having written nothing and added nothing to `report`, when it does not answer."""
    found = _ledger_and_touched(config, memo, listing)
    if isinstance(found, str):
        log.debug("the last build's plan does not answer for this build: %s", found)
        return None
    ledger, touched, last = found
    outcome = memo.last_outcome()
    if outcome is None:
        return None
    readings = _read_edited(config, memo, ledger, touched, dict(listing.entries), outcome[0])
    if readings is None:
        log.debug("the last build's plan does not answer for this build: a touched file changed what it reads")
        return None
    # Asked last: the site folder is looked at in the background until here (see `SiteFiles`).
    if site_files.stamp() != ledger.site_stamp:
        log.debug("the last build's plan does not answer for this build: the site folder is not as it left it")
        return None
    if not readings.edited:
        return _repeat(config, report, memo, ledger, readings, outcome[0], site_files, inputs_key)
    try:
        return _write_edit(config, report, memo, ledger, readings, last, outcome[0], site_files, inputs_key, progress)
    except _LedgerCannotAnswer as failed:
        log.debug("the last build's plan does not answer for this build: %s", failed)
        return None


def _repeat(
    config: SiteConfig, report: Report, memo: Memo, ledger: Ledger, readings: _Readings, last_findings: list[Finding],
    site_files: SiteFiles, inputs_key: str,
) -> Edit:
    """Repeat the last build when its files were touched but no page's key or dates changed:
    remember their new stamps, so the next build repeats it without reading them."""
    from generator.errors import strict_failure
    from generator.pipeline.states import quick_state

    for finding in last_findings:
        report.add(finding)
    if config.strict and last_findings:
        raise strict_failure(report)
    changed_rows = _remember_files(memo, ledger, readings, list(ledger.rows))
    memo.record_ledger(None, ledger.site_stamp, changed_rows)
    memo.record_quick_state(quick_state(inputs_key, site_files.stamp()))
    memo.stats.hits, memo.stats.misses = len(ledger.rows), 0
    return Edit(memo.stored_catalog(len(ledger.rows)), [], unchanged=True)


@dataclass(frozen=True)
class _Readings:
    """What the touched files hold now."""

    edited: list[_Edited]
    """The files that changed."""
    stamps: dict[int, str]
    """The new stamp of every touched file, by its place (a file touched but not changed keeps its page)."""
    dates: dict[Path, FileDates]
    """The touched files' dates."""


def _ledger_and_touched(
    config: SiteConfig, memo: Memo, listing: AgentListing,
) -> str | tuple[Ledger, list[int], tuple[Manifest, SearchIndex]]:
    """Return the ledger, the places of the files touched since and what the last build wrote;
    or why the ledger cannot answer."""
    if listing.marketplace is not None or listing.other_entries:
        return "the catalog has commands, skills or plugins"
    ledger = Ledger.read(memo)
    if ledger is None or ledger.site.out_dir != str(config.out_dir):
        return "no plan recorded for this output folder"
    if listing_state(listing) != ledger.site.listing:
        return "listing the files found other problems"
    current = dict(listing.entries)
    if (len(current) != len(ledger.files) + len(ledger.site.skipped) or not all(file in current for file in ledger.files)
            or any(not stamp or current.get(file) != stamp for file, stamp in ledger.site.skipped)):
        return "a file was added, removed, or is no agent now"
    touched = [place for place, (file, row) in enumerate(zip(ledger.files, ledger.rows))
               if not current[file] or current[file] != row.stamp]
    if not touched or len(touched) > MAX_EDITED_FILES:
        return f"{len(touched)} files were touched"
    if any(ledger.neighbours(place).related for place in touched):
        return "a touched file's page lists relations"
    if json.loads(ledger.site.git_state) != repository_stamps(config.agents_dir):
        return "git dates the files otherwise now"
    last = memo.last_written()
    if last is None or (last[0].out_dir, last[0].stamp) != (str(config.out_dir), ledger.site_stamp):
        return "the last build's record of its site is not the plan's"
    return ledger, touched, last


def _read_edited(
    config: SiteConfig, memo: Memo, ledger: Ledger, touched: list[int], current: dict[str, str],
    last_findings: list[Finding],
) -> _Readings | None:
    """Read and check the touched files, plan each one's page again, and keep those whose page key
    or dates changed; None when one of them changed what the ledger cannot answer for: what the
    plan reads of it, a link or image to another file (then or now), a finding of a rule over the
    whole catalog about it, or a reading the cache no longer has."""
    from generator.catalog.load import file_digest
    from generator.pipeline.read import (  # read as the read stage reads
        read_agent_bytes,
        read_and_check_file,
    )
    from generator.pipeline.states import moments

    by_path: dict[str, list[Finding]] = {}
    for finding in last_findings:
        by_path.setdefault(finding.path_text, []).append(finding)
    readings: list[tuple[int, CheckedFile]] = []
    for place in touched:
        path, row = Path(ledger.files[place]), ledger.rows[place]
        data = read_agent_bytes(path, Report(), config.max_file_size)
        old = memo.get_file_head(path, row.digest)  # read before a new reading replaces it
        if data is None or old is None:
            log.debug("the last build's plan does not answer for %s: it cannot be read, or the cache lost it", path)
            return None
        # A new reading is kept by the memo once the edit is written (`_write_edit`): should the
        # ledger not answer, the full pipeline reads the file as any changed file.
        digest = file_digest(data)
        checked = old if digest == row.digest else memo.get_file(path, digest) or read_and_check_file(config, path)
        why = ("it is no agent now" if checked.raw is None
               else "it links to another file" if checked.links or old.links
               else "it changed what the plan reads of it" if plan_head(checked.raw) != ledger.heads[place]
               else "a rule over the whole catalog found something in it" if by_path.get(str(path), []) != _in_order(old.findings)
               else "")
        if why:
            log.debug("the last build's plan does not answer for %s: %s", path, why)
            return None
        readings.append((place, checked))
    dates = read_file_dates([checked.raw.path for _, checked in readings if checked.raw], config.agents_dir, memo)
    edited = []
    for place, checked in readings:
        assert checked.raw is not None
        plan = _plan_again(ledger, place, checked.raw, dates.get(checked.raw.path))
        key, row = memo.page_key(plan), ledger.rows[place]
        if key != row.key or moments(dates.get(checked.raw.path)) != row_moments(row):
            edited.append(_Edited(place, checked, plan, key))
    return _Readings(edited, {place: current[ledger.files[place]] for place in touched}, dates)


def _plan_again(ledger: Ledger, place: int, raw: RawAgent, dates: FileDates | None) -> PagePlan:
    """Return the plan of a page the ledger holds, for the file's new reading and dates."""
    from generator.catalog.model import PageLink
    from generator.site.plan import PagePlan
    from generator.site.relations import NO_RELATIONS

    before, after, position, _ = ledger.neighbours(place)
    return PagePlan(raw, ledger.slugs[place], PageLink(*before) if before else None,
                    PageLink(*after) if after else None, updated=dates.updated.strftime("%Y-%m-%d") if dates else "",
                    category_position=position, relations=NO_RELATIONS)


def _write_edit(
    config: SiteConfig, report: Report, memo: Memo, ledger: Ledger, readings: _Readings,
    last: tuple[Manifest, SearchIndex], last_findings: list[Finding], site_files: SiteFiles, inputs_key: str,
    progress: Callable[[int, int], None],
) -> Edit:
    """Render the changed pages and the files listing every agent, put them in place and record
    the build. The memo takes
    nothing of this build before its files are in place: should the ledger not answer after
    all, the full pipeline finds the memo as the last build left it."""
    from generator.errors import strict_failure
    from generator.pipeline.pages import render_pages
    from generator.pipeline.render import (
        add_extra_assets,
        add_fragment,
        page_version,
        write_search,
    )
    from generator.pipeline.states import moments, quick_state, site_after, site_state
    from generator.site.entries import EntryRenderer, entry_key
    from generator.site.render import make_site_context
    from generator.site.search import ChunkMissing

    manifest, search = last
    pages, sizes = _check_record(memo, ledger, readings, search)
    findings = _swap_findings(last_findings, readings)
    if config.strict and findings:
        for finding in findings:
            report.add(finding)
        raise strict_failure(report)
    rows = list(ledger.rows)
    for item in readings.edited:
        rows[item.place] = page_row(readings.stamps[item.place], item.plan.raw.digest, item.key,
                                    readings.dates.get(item.plan.raw.path))
    env, site = memo.environment(config), make_site_context(config)
    writer = output.SiteWriter(config.out_dir, manifest.files)
    try:
        # The pages link to no other file (see `_read_edited`): each needs its own slug alone.
        slugs = {item.plan.raw.rel_path: item.plan.slug for item in readings.edited}
        made = list(render_pages(config, [item.plan for item in readings.edited], slugs, writer.root, True, env))
        said = [_said_before(memo, ledger, item, agent) for item, (agent, _, _) in zip(readings.edited, made)]
        entries = [EntryRenderer(env, site, {agent.path: dates} if (dates := readings.dates.get(agent.path)) else {})
                   .render_one(agent) for agent, _, _ in made]
        newest = _newest(memo, ledger, [file for file, _ in pages], rows,
                         {item.place: agent for item, (agent, _, _) in zip(readings.edited, made)})
        index_files = search.paths()  # the index's files are named anew by `write_search`
        for path, version in manifest.files.items():
            if path not in index_files:
                writer.keep(path, version)
        add_extra_assets(config, writer)  # files of the catalog's own, read again at each build
        for item, (agent, _, terms), before in zip(readings.edited, made, said):
            writer.staged(agent.url, page_version(item.key, agent, slugs))
            writer.staged(agent.raw_url, item.plan.raw.digest)
            search.replace(item.place, before.terms, terms)
            add_fragment(writer, item.plan.slug, terms)
        write_search(writer, search)
        objects = {item.place: entry.catalog_object for item, entry in zip(readings.edited, entries)}
        _splice_catalog_json(site, memo, writer, ledger, sizes, objects)
        _splice_listings(env, memo, writer, ledger, {item.place: entry for item, entry, before
                                                     in zip(readings.edited, entries, said) if before.anew})
        _add_feeds(site, writer, ledger, rows, newest)
        changed = writer.commit()
    except ChunkMissing as missing:
        writer.discard()
        raise _LedgerCannotAnswer(f"the cache lost part of the search index ({missing})") from None
    except _LedgerCannotAnswer:
        writer.discard()
        raise
    except BaseException:
        writer.discard()
        for finding in findings:  # a failed build reports what it found, as the full pipeline does
            report.add(finding)
        raise
    for finding in findings:
        report.add(finding)
    for item, (agent, compressed, terms), entry in zip(readings.edited, made, entries):
        memo.put(item.plan, item.key, slugs, agent, compressed, terms)
        memo.keep_entries(item.plan.slug, entry_key(item.key, moments(readings.dates.get(agent.path))), entry)
    after = site_after(site_files, config, changed, True)
    changed_rows = _remember_files(memo, ledger, readings, rows)
    page_keys = dict(manifest.pages)
    for item in readings.edited:
        page_keys[page_url(item.plan.slug)] = item.key
    state = site_state(memo.fingerprint, config, ledger.site.parts, ((row.key, row_moments(row)) for row in rows))
    memo.record_ledger(None, after.stamp(), changed_rows)
    layout = after.new_layout()
    memo.record_edit(quick_state(inputs_key, after.stamp()), None if findings is last_findings else findings,
                     {item.place: (pages[item.place][0], item.key) for item in readings.edited},
                     f"{state} {after.stamp()}",
                     Manifest(str(config.out_dir), memo.fingerprint, after.stamp(), dict(writer.versions), page_keys),
                     search, manifest, (config.out_dir, layout) if layout is not None else None)
    memo.stats.hits, memo.stats.misses = len(ledger.files) - len(readings.edited), len(readings.edited)
    progress(len(ledger.files), len(ledger.files))
    return Edit(memo.stored_catalog(len(rows)), changed)


def _check_record(
    memo: Memo, ledger: Ledger, readings: _Readings, search: SearchIndex,
) -> tuple[list[tuple[str, str]], list[int]]:
    """Return the last build's pages (file and key, in order) and the size of each agent's
    catalog.json object, once they and its search index are seen to be the ledger's and the
    agents' entries to be stored under the keys the ledger gives them."""
    from generator.site.entries import entry_key

    pages = memo.last_result_pages()
    if (pages is None or [key for _, key in pages] != [row.key for row in ledger.rows]
            or any(pages[item.place][0] != str(item.plan.raw.rel_path) for item in readings.edited)):
        raise _LedgerCannotAnswer("the last build's record is not the ledger's")
    if search.slugs != ledger.slugs:
        raise _LedgerCannotAnswer("the search index lists other pages")
    stored = memo.object_sizes()
    sizes = []
    for slug, row in zip(ledger.slugs, ledger.rows):
        key, size = stored.get(slug, ("", None))
        if key != entry_key(row.key, row_moments(row)) or not isinstance(size, int):
            raise _LedgerCannotAnswer("the cache lost an agent's entries")
        sizes.append(size)
    return pages, sizes


@dataclass(frozen=True)
class _SaidBefore:
    """What a changed page's agent said before: its words for search, and whether it says anew
    what the files listing every agent show of it."""

    terms: PageTerms
    anew: bool


def _said_before(memo: Memo, ledger: Ledger, item: _Edited, agent: Agent) -> _SaidBefore:
    """Return what a changed page's agent said before, once it is seen to leave what the index
    counts of it as it was (its color, model and tools: the filters, and the stylesheet of colors)."""
    from generator.site.render import filter_values

    file, old_key = item.plan.raw.rel_path, ledger.rows[item.place].key
    if agent.linked_files:  # rendered with its own slug alone, a link to another agent has no address
        raise _LedgerCannotAnswer(f"{file} links to another agent")
    digest = memo.stored_digest(file, old_key)
    terms = memo.get_terms(item.plan, old_key)
    if digest is None or terms is None:
        raise _LedgerCannotAnswer("the cache lost a page's words or its agent")
    if digest == memo.digest_of(agent):
        return _SaidBefore(terms, False)
    old = memo.last_agent(str(file), old_key)
    if old is None:
        raise _LedgerCannotAnswer("the cache lost an agent")
    if (filter_values(old), old.color, old.category) != (filter_values(agent), agent.color, agent.category):
        raise _LedgerCannotAnswer(f"{file} changed what the index counts of it")
    return _SaidBefore(terms, True)


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


def _in_order(findings: list[Finding]) -> list[Finding]:
    """Return findings in the order a build reports them (see `read.load_and_check`)."""
    return sorted(findings, key=lambda finding: (finding.path_text, finding.line, finding.column))


def _swap_findings(last_findings: list[Finding], readings: _Readings) -> list[Finding]:
    """Return the last build's findings with each changed file's swapped for its new reading's (a
    file with others, of rules over the whole catalog, is left to the full pipeline), in the
    order a full build reports them: the last build's list itself when they found what they found
    before (at 20,000 agents with a finding each, sorting them again is no small part of an edit)."""
    now = {str(item.plan.raw.path): _in_order(item.checked.findings) for item in readings.edited}
    before: dict[str, list[Finding]] = {path: [] for path in now}
    kept: list[Finding] = []
    for finding in last_findings:
        before.get(finding.path_text, kept).append(finding)
    if before == now:
        return last_findings
    return _in_order(kept + [finding for findings in now.values() for finding in findings])


def _splice_catalog_json(
    site: SiteContext, memo: Memo, writer: output.SiteWriter, ledger: Ledger, sizes: list[int],
    edited: dict[int, str],
) -> None:
    """Put catalog.json into the writer: the file the last build wrote, with the changed agents'
    objects (`edited`, by place) in place of their old ones, found by the size of every object
    (`sizes`, in order) and seen to be the ones the cache keeps; the file is the join
    `publish.catalog_json_parts` makes, as a full build writes it, and the bytes around the
    changed objects are copied as they are."""
    from itertools import accumulate

    from generator.site.entries import CATALOG_OBJECT, entry_key
    from generator.site.publish import CATALOG_NAME, catalog_json_parts

    head, tail = catalog_json_parts(site, (), None)
    head_bytes, tail_bytes = head.encode("utf-8"), tail.encode("utf-8")
    # Each object starts after the head, the objects before it and a comma after each of them.
    starts = [len(head_bytes) + before + place for place, before in enumerate(accumulate(sizes, initial=0))]
    size = starts[-1] - (1 if sizes else 0) + len(tail_bytes)
    places = sorted(edited)
    old = memo.entry_parts_in_order(CATALOG_OBJECT, [ledger.slugs[place] for place in places])
    splices = [output.Splice(range(len(head_bytes)), head_bytes, head)]
    for place, stored in zip(places, old):
        row = ledger.rows[place]
        if stored is None or stored[0] != entry_key(row.key, row_moments(row)):
            raise _LedgerCannotAnswer("the cache lost an agent's entries")
        splices.append(output.Splice(range(starts[place], starts[place] + sizes[place]), stored[1].encode("utf-8"),
                                     edited[place]))
    splices.append(output.Splice(range(size - len(tail_bytes), size), tail_bytes, tail))
    try:
        writer.add_spliced(CATALOG_NAME, splices, size)
    except (OSError, ValueError) as failed:
        raise _LedgerCannotAnswer(f"catalog.json is not the file the last build's record describes: {failed}") from None


def _splice_listings(
    env: jinja2.Environment, memo: Memo, writer: output.SiteWriter, ledger: Ledger, anew: dict[int, AgentEntries],
) -> None:
    """Put index.html and llms.txt into the writer, each the file the last build wrote with the
    old card or line of each agent in `anew` (by place; seen to be the one the cache keeps) in
    place of its new one. Only the theme's own index page is known to show an agent by its card
    alone, each card once; a catalog's own template, or a part found other than once, is left
    to the full pipeline."""
    from generator.pipeline.site_files import INDEX_PAGE
    from generator.site.entries import CARD, LLMS_LINE, entry_key
    from generator.site.publish import LLMS_NAME
    from generator.site.render import index_is_builtin

    if not anew:
        return
    if not index_is_builtin(env):
        raise _LedgerCannotAnswer("the catalog's theme has an index page of its own")
    places = sorted(anew)
    slugs = [ledger.slugs[place] for place in places]
    # A line of llms.txt is found whole, between the line breaks around it.
    for name, part, around in ((INDEX_PAGE, CARD, ""), (LLMS_NAME, LLMS_LINE, "\n")):
        replacements = []
        for place, stored in zip(places, memo.entry_parts_in_order(part, slugs)):
            row = ledger.rows[place]
            if stored is None or stored[0] != entry_key(row.key, row_moments(row)):
                raise _LedgerCannotAnswer("the cache lost an agent's entries")
            new = anew[place].card if part == CARD else anew[place].llms_line
            if new != stored[1]:
                replacements.append(((around + stored[1] + around).encode("utf-8"), around + new + around))
        try:
            if replacements:
                writer.add_replaced(name, replacements)
        except (OSError, ValueError) as failed:
            raise _LedgerCannotAnswer(f"{name} is not the file the last build's record describes: {failed}") from None


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
        raise _LedgerCannotAnswer("the cache lost an agent")
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
