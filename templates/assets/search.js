// The index's search box and filter chips. Without JavaScript the full list shows and every
// link works; with it, chips narrow the cards at once and a query asks the Pagefind index,
// which loads only the pieces a query needs, and lists the best matches in rank order.
// The state lives in the URL, so a filtered view can be shared. A classic script, not a
// module, so it runs on pages opened from disk, where it searches the cards' own text.
(() => {
const finder = document.querySelector("[data-finder]");
if (!finder) return;
const input = document.querySelector("[data-search-input]");
const chips = [...document.querySelectorAll("[data-filter]")];
const cards = [...document.querySelectorAll(".category [data-agent]")];
const sections = [...document.querySelectorAll("[data-category-section]")];
const resultsList = document.querySelector("[data-results]");
const countLine = document.querySelector("[data-result-count]");
const noResults = document.querySelector("[data-no-results]");
const filtersPanel = document.querySelector("[data-filters]");
const cardsBySlug = new Map(cards.map((card) => [card.dataset.agent, card]));
const FILTER_KEYS = ["color", "model", "category", "tool"];
const MAX_RESULTS = 60; // the best matches are enough to choose from
const MAX_LOADED = 300; // result fragments one query may load while filters skip some
const TYPING_PAUSE_MS = 150;
let pagefind = null;
let latestQuery = 0;
let typingTimer = 0;

function selectedFilters() {
  const filters = {};
  for (const chip of chips) {
    if (chip.getAttribute("aria-pressed") === "true") (filters[chip.dataset.filter] ||= []).push(chip.dataset.value);
  }
  return filters;
}

function matchesFilters(card, filters) {
  return Object.entries(filters).every(([key, values]) => {
    const own = key === "tool" ? JSON.parse(card.dataset.tools) : [card.dataset[key]];
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

// Return the matching cards, best first, and how many matches there were in all.
async function rankedMatches(query, filters) {
  const engine = await loadPagefind();
  if (!engine) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const found = cards.filter((card) => matchesFilters(card, filters)
      && words.every((word) => card.textContent.toLowerCase().includes(word)));
    return { matches: found.slice(0, MAX_RESULTS), total: found.length };
  }
  const search = await engine.search(query);
  const matches = [];
  let loaded = 0;
  while (matches.length < MAX_RESULTS && loaded < Math.min(search.results.length, MAX_LOADED)) {
    const batch = search.results.slice(loaded, loaded + 20);
    loaded += batch.length;
    for (const page of await Promise.all(batch.map((result) => result.data()))) {
      const card = cardsBySlug.get(page.url.match(/agents\/([^/]+)\//)?.[1]);
      if (card && matchesFilters(card, filters) && matches.length < MAX_RESULTS) matches.push(card);
    }
  }
  const filtered = Object.keys(filters).length > 0;
  return { matches, total: filtered && loaded < search.results.length ? null : search.results.length };
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
    if (pressed && filtersPanel) filtersPanel.open = true;
  }
}

function showCategories(filters) {
  let shown = 0;
  for (const card of cards) {
    card.hidden = !matchesFilters(card, filters);
    shown += card.hidden ? 0 : 1;
  }
  for (const section of sections) {
    const visible = section.querySelectorAll("[data-agent]:not([hidden])").length;
    section.hidden = visible === 0;
    section.querySelector("[data-category-count]").textContent = String(visible);
  }
  resultsList.hidden = true;
  resultsList.replaceChildren();
  return shown;
}

function showResults(matches) {
  for (const section of sections) section.hidden = true;
  resultsList.replaceChildren(...matches.map((card) => {
    const copy = card.cloneNode(true);
    copy.hidden = false;
    return copy;
  }));
  resultsList.hidden = false;
  return matches.length;
}

async function apply() {
  const ticket = ++latestQuery;
  const query = input.value.trim();
  const filters = selectedFilters();
  saveState(query, filters);
  const found = query ? await rankedMatches(query, filters) : null;
  if (ticket !== latestQuery) return; // a newer change is already on its way
  const shown = found ? showResults(found.matches) : showCategories(filters);
  const active = query || Object.keys(filters).length;
  let more = "";
  if (found && found.total === null) more = " (the best matches)";
  else if (found && found.total > shown) more = ` (the best of ${found.total} matches)`;
  countLine.textContent = active ? `${shown} of ${cards.length} agents${more}` : "";
  noResults.hidden = shown > 0;
}

function clearAll() {
  input.value = "";
  for (const chip of chips) chip.setAttribute("aria-pressed", "false");
  apply();
  input.focus();
}

finder.hidden = false;
loadState();
input.addEventListener("input", () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(apply, TYPING_PAUSE_MS);
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    clearTimeout(typingTimer);
    apply();
  }
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
})();
