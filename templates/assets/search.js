// The index's search box and filter chips. Without JavaScript the full list shows and every
// link works; with it, chips narrow the cards at once and a query asks the Pagefind index,
// which loads only the pieces a query needs. The state lives in the URL, so a filtered view
// can be shared.

const finder = document.querySelector("[data-finder]");
const input = document.querySelector("[data-search-input]");
const chips = [...document.querySelectorAll("[data-filter]")];
const cards = [...document.querySelectorAll("[data-agent]")];
const sections = [...document.querySelectorAll("[data-category-section]")];
const countLine = document.querySelector("[data-result-count]");
const noResults = document.querySelector("[data-no-results]");
const FILTER_KEYS = ["color", "model", "category", "tool"];
// A query loads one small fragment per result shown; the best matches are enough to choose from.
const MAX_RESULTS = 60;
let pagefind = null;
let latestQuery = 0;

function selectedFilters() {
  const filters = {};
  for (const chip of chips) {
    if (chip.getAttribute("aria-pressed") === "true") {
      (filters[chip.dataset.filter] ||= []).push(chip.dataset.value);
    }
  }
  return filters;
}

function cardTools(card) {
  const tools = card.dataset.tools;
  if (tools === "*") return ["all tools"];
  return tools ? tools.split("|") : ["no tools"];
}

function matchesFilters(card, filters) {
  return Object.entries(filters).every(([key, values]) => {
    const own = key === "tool" ? cardTools(card) : [card.dataset[key]];
    return values.some((value) => own.includes(value));
  });
}

async function loadPagefind() {
  if (pagefind === null) {
    try {
      pagefind = await import(new URL("pagefind/pagefind.js", document.baseURI).href);
      await pagefind.init();
    } catch (error) {
      pagefind = false; // opened from disk, or no index: fall back to the cards' own text
    }
  }
  return pagefind;
}

async function matchingSlugs(query) {
  const engine = await loadPagefind();
  if (!engine) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const slugs = cards
      .filter((card) => words.every((word) => card.textContent.toLowerCase().includes(word)))
      .map((card) => card.dataset.agent);
    return { slugs: new Set(slugs), total: slugs.length };
  }
  const search = await engine.search(query);
  const best = search.results.slice(0, MAX_RESULTS);
  const pages = await Promise.all(best.map((result) => result.data()));
  const slugs = pages.map((page) => page.url.match(/agents\/([^/]+)\//)?.[1]).filter(Boolean);
  return { slugs: new Set(slugs), total: search.results.length };
}

function saveState(query, filters) {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  for (const key of FILTER_KEYS) for (const value of filters[key] || []) params.append(key, value);
  const search = params.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

function loadState() {
  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  for (const chip of chips) {
    const pressed = params.getAll(chip.dataset.filter).includes(chip.dataset.value);
    chip.setAttribute("aria-pressed", String(pressed));
  }
}

async function apply() {
  const ticket = ++latestQuery;
  const query = input.value.trim();
  const filters = selectedFilters();
  saveState(query, filters);
  const found = query ? await matchingSlugs(query) : null;
  if (ticket !== latestQuery) return; // a newer keystroke is already on its way
  let shown = 0;
  for (const card of cards) {
    const visible = matchesFilters(card, filters) && (!found || found.slugs.has(card.dataset.agent));
    card.hidden = !visible;
    shown += visible ? 1 : 0;
  }
  for (const section of sections) {
    const visible = section.querySelectorAll("[data-agent]:not([hidden])").length;
    section.hidden = visible === 0;
    section.querySelector("[data-category-count]").textContent = String(visible);
  }
  const filtered = query || Object.keys(filters).length;
  const more = found && found.total > shown ? ` (the best of ${found.total} matches)` : "";
  countLine.textContent = filtered ? `${shown} of ${cards.length} agents${more}` : "";
  noResults.hidden = shown > 0;
}

function clearAll() {
  input.value = "";
  for (const chip of chips) chip.setAttribute("aria-pressed", "false");
  apply();
  input.focus();
}

if (finder) {
  finder.hidden = false;
  loadState();
  input.addEventListener("input", apply);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
    if (event.key === "Escape") clearAll();
  });
  for (const chip of chips) {
    chip.addEventListener("click", () => {
      chip.setAttribute("aria-pressed", String(chip.getAttribute("aria-pressed") !== "true"));
      apply();
    });
  }
  document.querySelector("[data-clear]").addEventListener("click", clearAll);
  addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
  apply();
}
