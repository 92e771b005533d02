// The index's search box and filter chips. Without JavaScript the full list shows and every
// link works; with it, chips narrow the cards at once and a query asks the search index
// (search/index.json and the chunks of terms it names, written by the build), which loads
// only the chunks that hold the query's words and ranks the pages with BM25.
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
const cardOrder = new Map(cards.map((card, position) => [card, position]));
const FILTER_KEYS = ["kind", "plugin", "color", "model", "category", "tool"];
const MAX_RESULTS = 60; // the best matches are enough to choose from
const TYPING_PAUSE_MS = 150;
const INDEX_VERSION = 1;
const MIN_PREFIX = 3; // shorter words match whole words only: "go" is not "google"
const PREFIX_MATCH = 0.7; // "deploy" finds "deployment", below "deploy" itself
const BM25_K1 = 1.2;
const BM25_B = 0.75;
// The combining marks NFKD splits off accented letters, as the build removes them (search.py).
const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
let searchIndex = null;
const chunks = new Map();
let latestQuery = 0;
let typingTimer = 0;

function selectedFilters() {
  const filters = {};
  for (const chip of chips) {
    if (chip.getAttribute("aria-pressed") === "true") (filters[chip.dataset.filter] ||= []).push(chip.dataset.value);
  }
  return filters;
}

// What a card is filtered by: a plugin's, command's or skill's card has no tools, no color
// and no model, and a card without a kind is an agent's.
function readValues(card, key) {
  if (key === "tool") return card.dataset.tools ? JSON.parse(card.dataset.tools) : [];
  if (key === "kind") return [card.dataset.kind || "agent"];
  return [card.dataset[key] ?? ""];
}

const valuesOf = new Map(); // card → its values by filter key, read once
function cardValues(card, key) {
  let known = valuesOf.get(card);
  if (!known) valuesOf.set(card, (known = {}));
  return (known[key] ||= readValues(card, key));
}

// Each chip counts the cards it would show with the other groups' filters as they are (its own
// group's choices are alternatives, so they do not narrow its count), among the cards the query
// finds when there is one: one pass over them.
function updateCounts(filters, among) {
  const keys = Object.keys(filters);
  const counts = new Map();
  for (const card of among) {
    const failing = keys.filter((key) => !filters[key].some((value) => cardValues(card, key).includes(value)));
    if (failing.length > 1) continue;
    for (const key of failing.length ? failing : FILTER_KEYS) {
      for (const value of cardValues(card, key)) counts.set(`${key}\0${value}`, (counts.get(`${key}\0${value}`) || 0) + 1);
    }
  }
  for (const chip of chips) {
    const count = counts.get(`${chip.dataset.filter}\0${chip.dataset.value}`) || 0;
    chip.querySelector("[data-chip-count]").textContent = String(count);
    chip.classList.toggle("chip-empty", count === 0);
  }
}

function matchesFilters(card, filters) {
  return Object.entries(filters).every(([key, values]) => {
    const own = cardValues(card, key);
    return values.some((value) => own.includes(value));
  });
}

function isComponentCard(card) {
  return Boolean(card.dataset.kind) && card.dataset.kind !== "agent";
}

// The search index, once loaded; false when there is none now (opened from disk, where it
// never will be; elsewhere the next query asks again). `fresh` asks the server past any cached
// copy: the site was rebuilt since it was loaded.
async function loadSearchIndex(fresh = false) {
  if (searchIndex === null || (fresh && searchIndex !== false)) {
    try {
      const response = await fetch(new URL("search/index.json", document.baseURI), fresh ? { cache: "reload" } : {});
      if (!response.ok) throw new Error(`search/index.json: ${response.status}`);
      const index = await response.json();
      if (index.version !== INDEX_VERSION) throw new Error(`search index version ${index.version}`);
      index.averageLength = index.lengths.reduce((sum, length) => sum + length, 0) / Math.max(1, index.lengths.length);
      searchIndex = index;
    } catch (error) {
      searchIndex = location.protocol === "file:" ? false : null;
      return false;
    }
  }
  return searchIndex;
}

// Split text into words as the build did: accents off, lower case, letters and digits.
function splitWords(text) {
  return text.normalize("NFKD").replace(MARKS, "").toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
}

function loadChunk(file) {
  if (!chunks.has(file)) {
    chunks.set(file, fetch(new URL(`search/${file}`, document.baseURI)).then((response) => {
      if (!response.ok) throw new Error(`${file}: ${response.status}`);
      return response.json();
    }));
  }
  return chunks.get(file);
}

// The chunks that may hold `word` itself or, with `prefix`, any term that starts with it.
function chunksFor(index, word, prefix) {
  const firsts = index.chunks;
  let start = 0;
  while (start + 1 < firsts.length && firsts[start + 1][0] <= word) start += 1;
  let end = start;
  while (prefix && end + 1 < firsts.length && firsts[end + 1][0].startsWith(word)) end += 1;
  return firsts.slice(start, end + 1).map(([, file]) => file);
}

// Score every page that has one query word (or a word it starts): page number -> score.
async function scoreWord(index, word) {
  const stem = word.length > MIN_PREFIX && word.endsWith("s") ? word.slice(0, -1) : word;
  const prefix = stem.length >= MIN_PREFIX;
  const scores = new Map();
  const pageCount = index.pages.length;
  for (const chunk of await Promise.all(chunksFor(index, stem, prefix).map(loadChunk))) {
    for (const [term, postings] of Object.entries(chunk)) {
      if (prefix ? !term.startsWith(stem) : term !== word) continue;
      const closeness = term === word || term === stem ? 1 : PREFIX_MATCH;
      const pages = postings.length / 2;
      const idf = Math.log(1 + (pageCount - pages + 0.5) / (pages + 0.5));
      for (let i = 0; i < postings.length; i += 2) {
        const page = postings[i];
        const weight = postings[i + 1];
        const norm = 1 - BM25_B + BM25_B * index.lengths[page] / index.averageLength;
        const score = closeness * idf * weight * (BM25_K1 + 1) / (weight + BM25_K1 * norm);
        if (score > (scores.get(page) || 0)) scores.set(page, score);
      }
    }
  }
  return scores;
}

// The cards of the pages that have every word of the query, best first.
async function searchCards(index, query) {
  const words = [...new Set(splitWords(query))];
  if (words.length === 0) return [];
  const perWord = await Promise.all(words.map((word) => scoreWord(index, word)));
  const [first, ...others] = perWord.sort((a, b) => a.size - b.size);
  const found = [];
  for (const [page, score] of first) {
    if (!others.every((scores) => scores.has(page))) continue;
    const card = cardsBySlug.get(index.pages[page]);
    if (card) found.push([others.reduce((sum, scores) => sum + scores.get(page), score), card]);
  }
  found.sort((a, b) => b[0] - a[0] || cardOrder.get(a[1]) - cardOrder.get(b[1]));
  return found.map(([, card]) => card);
}

// Search the index; if a chunk it names is gone (the site was rebuilt since the index was
// loaded, or a cache kept an old index.json), load the index afresh and search once more.
async function searchIndexFor(query) {
  for (const fresh of [false, true]) {
    const index = await loadSearchIndex(fresh);
    if (!index) return null;
    try {
      return await searchCards(index, query);
    } catch (error) {
      console.warn("agentpages search:", error);
      chunks.clear();
    }
  }
  searchIndex = location.protocol === "file:" ? false : null; // try again with the next query
  return null;
}

// Return the matching cards, best first, and how many matches there were in all.
async function rankedMatches(query, filters) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const saysAll = (card) => words.every((word) => card.textContent.toLowerCase().includes(word));
  let found = await searchIndexFor(query);
  // The index holds the agents' pages; plugins, commands and skills are found by their cards.
  found = found === null ? cards.filter(saysAll) : [...found, ...cards.filter((c) => isComponentCard(c) && saysAll(c))];
  const matching = found.filter((card) => matchesFilters(card, filters));
  return { matches: matching.slice(0, MAX_RESULTS), total: matching.length, found };
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
  updateCounts(filters, found ? found.found : cards);
  const active = query || Object.keys(filters).length;
  const more = found && found.total > shown ? ` (the best of ${found.total} matches)` : "";
  countLine.textContent = active ? `${shown} of ${cards.length} ${input.dataset.noun || "agents"}${more}` : "";
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
for (const more of document.querySelectorAll("[data-facet-more]")) {
  more.addEventListener("click", () => {
    const group = more.closest("fieldset");
    const folded = group.toggleAttribute("data-folded");
    more.setAttribute("aria-expanded", String(!folded));
    more.textContent = folded ? more.dataset.moreLabel : more.dataset.lessLabel;
  });
}
addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    input.focus();
  }
});
apply();
})();
