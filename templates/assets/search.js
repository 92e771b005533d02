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
const SNIPPETS = 10; // results that get a snippet from their page's text (one small file each)
const TYPING_PAUSE_MS = 150;
const INDEX_VERSION = 2;
const say = window.agentpages ? window.agentpages.say : (key) => key; // assets/strings.js
const MIN_PREFIX = 3; // shorter words match whole words only: "go" is not "google"
const PREFIX_MATCH = 0.3; // "deploy" finds "deployer", well below "deploy" itself
const TYPO_MATCH = 0.8; // "pyhton" finds "python", a little below a query spelled right
const MIN_TYPO_LENGTH = 5; // shorter words have too many neighbours: "nuxt" is not "next"
const BM25_K1 = 1.2;
const BM25_B = 0.75;
// What a word in a field adds to its BM25 score, in units of the word's idf: a match in the
// name outranks any number of matches in the body, the summary outranks a heading.
const FIELD_BOOSTS = { name: 4, summary: 1.2, heading: 0.5 }; // index.json says which bit is which
const PHRASE_BOOST = 1.5; // the query's words side by side in the name or summary
const WHOLE_NAME_BOOST = 2; // the query is the name
const COMMON_SHARE = 0.25; // a word in more than a quarter of the pages never decides what matches
const FEW_MATCHES = 3; // fewer pages with every word: rank by how many words match
// The combining marks NFKD splits off accented letters, as the build removes them (search.py).
const MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
// Snowball's English stemmer (assets/stemmer.js), the algorithm the build stems with.
const stemmer = typeof EnglishStemmer === "function" ? new EnglishStemmer() : null;
const stems = new Map();
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

function stem(word) {
  if (!stemmer) return word;
  let known = stems.get(word);
  if (known === undefined) stems.set(word, (known = stemmer.stemWord(word)));
  return known;
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

// The chunks that may hold `term` itself or, with `prefix`, any term that starts with it.
function chunksFor(index, term, prefix) {
  const firsts = index.chunks;
  let start = 0;
  while (start + 1 < firsts.length && firsts[start + 1][0] <= term) start += 1;
  let end = start;
  while (prefix && end + 1 < firsts.length && firsts[end + 1][0].startsWith(term)) end += 1;
  return firsts.slice(start, end + 1).map(([, file]) => file);
}

// Score every page that has `term`, or a term that starts with `prefix` (the word as typed, so
// "kubern" finds "kubernet" but "logging", stemmed to "log", never finds "logic"): page number
// -> score. Every match of the word weighs by the idf of the word itself (of the term, or of all
// the terms it starts when it is not a term): a rare longer word it starts is no rarer a match.
async function scoreTerm(index, term, prefix, closenessOfExact) {
  const matched = [];
  const pagesWithWord = new Set();
  const files = new Set([...chunksFor(index, term, false), ...(prefix ? chunksFor(index, prefix, true) : [])]);
  for (const chunk of await Promise.all([...files].map(loadChunk))) {
    for (const [candidate, postings] of Object.entries(chunk)) {
      if (candidate !== term && !(prefix && candidate.startsWith(prefix))) continue;
      matched.push([candidate, postings]);
      for (let i = 0, page = 0; i < postings.length; i += 2) pagesWithWord.add((page += postings[i]));
    }
  }
  const exact = matched.find(([candidate]) => candidate === term);
  const idf = idfOf(index.pages.length, exact ? exact[1].length / 2 : pagesWithWord.size);
  const { shift, name, summary, heading } = index.fields;
  const boosts = [[name, FIELD_BOOSTS.name], [summary, FIELD_BOOSTS.summary], [heading, FIELD_BOOSTS.heading]];
  const scores = new Map();
  for (const [candidate, postings] of matched) {
    const closeness = candidate === term ? closenessOfExact : PREFIX_MATCH;
    for (let i = 0, page = 0; i < postings.length; i += 2) {
      page += postings[i]; // each page is written as its gap from the one before
      const weight = postings[i + 1] >> shift;
      const fields = postings[i + 1] & ((1 << shift) - 1);
      const norm = 1 - BM25_B + BM25_B * index.lengths[page] / index.averageLength;
      let score = weight * (BM25_K1 + 1) / (weight + BM25_K1 * norm);
      for (const [bit, boost] of boosts) if (fields & bit) score += boost;
      score *= closeness * idf;
      if (score > (scores.get(page) || 0)) scores.set(page, score);
    }
  }
  return scores;
}

// Optimal string alignment distance (a swap of two letters counts one), or max + 1 past `max`.
function editDistance(a, b, max) {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before = null;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (before && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2] + 1);
      row.push(value);
      best = Math.min(best, value);
    }
    if (best > max) return max + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length];
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

// Every word one edit from `word` that keeps its first letter: two letters swapped, one left
// out, one changed, one added, in that order (the order ties are broken in).
function oneEditAway(word) {
  const found = [];
  for (let i = 1; i + 1 < word.length; i += 1) found.push(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  for (let i = 1; i < word.length; i += 1) found.push(word.slice(0, i) + word.slice(i + 1));
  for (let i = 1; i < word.length; i += 1) for (const letter of LETTERS) found.push(word.slice(0, i) + letter + word.slice(i + 1));
  for (let i = 1; i <= word.length; i += 1) for (const letter of LETTERS) found.push(word.slice(0, i) + letter + word.slice(i));
  return found;
}

// What a misspelt word most likely meant, from the list of the index's terms that start with its
// first letter: a word one edit away whose stem the index holds ("secuirty" is "security"),
// else, from 8 letters, the nearest term two edits away. Null when nothing is near.
async function correct(index, word) {
  if (word.length < MIN_TYPO_LENGTH || !/^[a-z]+$/.test(word)) return null;
  const list = index.words.find(([first]) => first === word[0]);
  if (!list) return null;
  const terms = await loadChunk(list[1]);
  const known = new Set(terms);
  const near = oneEditAway(word).find((candidate) => known.has(stem(candidate)));
  if (near) return { term: stem(near), shown: near };
  if (word.length < 8) return null;
  const target = stem(word);
  let best = null;
  for (const term of terms) {
    const distance = editDistance(target, term, 2);
    if (distance <= 2 && (!best || distance < best.distance)) best = { term, distance };
  }
  return best ? { term: best.term, shown: null } : null;
}

// What one query word finds: its pages' scores, the term it was taken for when it was misspelt
// (and the word shown for it), and the prefix it may match as typed.
async function scoreWord(index, word) {
  const term = stem(word);
  const prefix = word.length >= MIN_PREFIX ? word : null;
  const scores = await scoreTerm(index, term, prefix, 1);
  if (scores.size > 0) return { word, term, prefix, scores, corrected: null };
  const corrected = await correct(index, word);
  if (!corrected) return { word, term, prefix, scores, corrected: null };
  return { word, term: corrected.term, prefix: null, scores: await scoreTerm(index, corrected.term, null, TYPO_MATCH), corrected };
}

const cardStems = new Map(); // card → the stems of its name and summary, in order, without stop words
function stemsOf(card, stop) {
  let known = cardStems.get(card);
  if (!known) {
    const stems = (element) => splitWords(element ? element.textContent : "").filter((word) => !stop.has(word)).map(stem);
    const name = stems(card.querySelector(".card-title a"));
    known = { name, text: [...name, ...stems(card.querySelector(".card-summary"))] };
    cardStems.set(card, known);
  }
  return known;
}

function hasRun(sequence, run) {
  for (let i = 0; i + run.length <= sequence.length; i += 1) {
    if (run.every((term, j) => sequence[i + j] === term)) return true;
  }
  return false;
}

// The query's terms side by side, in their order, in a card's name or summary, or the query
// being the name.
function phraseBoost(card, sequence, stop) {
  if (sequence.length === 0) return 1;
  const { name, text } = stemsOf(card, stop);
  if (name.length === sequence.length && hasRun(name, sequence)) return WHOLE_NAME_BOOST * PHRASE_BOOST;
  return sequence.length > 1 && hasRun(text, sequence) ? PHRASE_BOOST : 1;
}

// The words a page must have: all of them, but in a query of three words or more the common
// ones (in over COMMON_SHARE of the pages: "help", "write" in "help me write unit tests"), and
// then, while fewer than FEW_MATCHES pages have them all, the most common of the rest.
function requiredWords(found, pageCount) {
  const common = (word) => word.scores.size > COMMON_SHARE * pageCount;
  let required = found.length >= 3 && found.some((word) => !common(word)) ? found.filter((word) => !common(word)) : found;
  const having = (words) => {
    let pages = null;
    for (const { scores } of words) pages = pages ? new Set([...pages].filter((page) => scores.has(page))) : new Set(scores.keys());
    return pages ? pages.size : 0;
  };
  while (required.length > 1 && having(required) < FEW_MATCHES) {
    const most = required.filter(common).sort((a, b) => b.scores.size - a.scores.size)[0];
    if (!most) break;
    required = required.filter((word) => word !== most);
  }
  return required;
}

// How much of the query each page has: the share of the words' idf its words make up, so a page
// without "help" loses less than one without "kubernetes"; and the sum of its words' scores.
function totalsOf(found, pageCount) {
  const weights = found.map(({ scores }) => idfOf(pageCount, scores.size));
  const whole = weights.reduce((sum, weight) => sum + weight, 0) || 1;
  const totals = new Map();
  found.forEach(({ scores }, position) => {
    for (const [page, score] of scores) {
      const total = totals.get(page) || { score: 0, share: 0 };
      total.score += score;
      total.share += weights[position] / whole;
      totals.set(page, total);
    }
  });
  return totals;
}

// The cards of the pages the query finds, best first, and what the query was taken to mean:
// pages with every required word first; when those are few, then the pages with most of the
// words. Null when the query is only stop words, which the index does not hold.
async function searchCards(index, query) {
  const stop = new Set(index.stop);
  const sequence = splitWords(query).filter((word) => !stop.has(word));
  const words = [...new Set(sequence)];
  if (words.length === 0) return null;
  const found = await Promise.all(words.map((word) => scoreWord(index, word)));
  const byWord = new Map(found.map((word) => [word.word, word.term]));
  const stems = sequence.map((word) => byWord.get(word));
  const required = requiredWords(found, index.pages.length);
  const ranked = [];
  for (const [page, total] of totalsOf(found, index.pages.length)) {
    const card = cardsBySlug.get(index.pages[page]);
    if (!card) continue;
    const every = required.every(({ scores }) => scores.has(page));
    ranked.push({ card, every, share: total.share, score: total.score * phraseBoost(card, stems, stop) });
  }
  const everyCount = ranked.filter((match) => match.every).length;
  const partial = everyCount < FEW_MATCHES && ranked.length > everyCount && found.length > 1;
  const kept = partial ? ranked : ranked.filter((match) => match.every);
  kept.sort((a, b) => (b.every - a.every) || (partial ? b.share - a.share : 0) || b.score - a.score
    || cardOrder.get(a.card) - cardOrder.get(b.card));
  return {
    cards: kept.map(({ card }) => card),
    partial,
    everyCount,
    optional: partial ? [] : found.filter((word) => !required.includes(word)).map(({ word }) => word),
    corrections: found.filter(({ corrected }) => corrected).map(({ word, term, corrected }) => [word, corrected.shown, term]),
    isMatch: (candidate) => found.some((word) => matchesWord(word, candidate)),
  };
}

function matchesWord({ term, prefix }, candidate) {
  return candidate === term || Boolean(prefix && candidate.startsWith(prefix));
}

function idfOf(pageCount, pages) {
  return Math.log(1 + (pageCount - pages + 0.5) / (pages + 0.5));
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

// Return the matching cards, best first, how many matches there were in all, and what the
// index took the query to mean (null when the cards' own text was searched).
async function rankedMatches(query, filters) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const saysAll = (card) => words.every((word) => card.textContent.toLowerCase().includes(word));
  const meaning = await searchIndexFor(query);
  const found = meaning ? meaning.cards : cards.filter(saysAll);
  const matching = found.filter((card) => matchesFilters(card, filters));
  return { matches: matching.slice(0, MAX_RESULTS), total: matching.length, found, meaning };
}

// -- snippets --------------------------------------------------------------------------------

const fragments = new Map();
// An agent's fragment by its slug; a command's, skill's or plugin's (`kind:slug`) in its kind's folder.
function fragmentPath(key) {
  const colon = key.indexOf(":");
  return colon < 0 ? `search/pages/${key}.json` : `search/components/${key.slice(0, colon)}/${key.slice(colon + 1)}.json`;
}

// Asked for with the index's build, so a browser that keeps files never pairs them across builds.
function loadFragment(slug) {
  if (!fragments.has(slug)) {
    const address = new URL(fragmentPath(slug), document.baseURI);
    if (searchIndex && searchIndex.build) address.search = `v=${searchIndex.build}`;
    fragments.set(slug, fetch(address)
      .then((response) => (response.ok ? response.json() : []))
      .catch(() => []));
  }
  return fragments.get(slug);
}

// The words of a text with where each stands, its stem, and whether the query matched it.
function markedWords(text, isMatch) {
  const words = [];
  for (const found of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const [word] = splitWords(found[0]);
    const stemmed = word ? stem(word) : "";
    words.push({ start: found.index, end: found.index + found[0].length, stem: stemmed, hit: Boolean(word) && isMatch(stemmed) });
  }
  return words;
}

// The section of a page that holds the most of the query's words (then the most matches).
function bestSection(sections, isMatch) {
  let best = null;
  for (const [id, title, text] of sections) {
    const whole = `${title} ${text}`;
    const hits = markedWords(whole, isMatch).filter((word) => word.hit);
    const distinct = new Set(hits.map((word) => word.stem)).size;
    const weight = distinct * 1000 + hits.length;
    if (hits.length > 0 && (!best || weight > best.weight)) best = { id, title, text, weight };
  }
  return best;
}

// Append `text` to `parent` from `start` to `end`, each matched word in a <mark>.
function appendMarked(parent, text, start, end, isMatch) {
  let position = start;
  for (const word of markedWords(text.slice(start, end), isMatch)) {
    if (!word.hit) continue;
    parent.append(text.slice(position, start + word.start));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start + word.start, start + word.end);
    parent.append(mark);
    position = start + word.end;
  }
  parent.append(text.slice(position, end));
}

const SNIPPET_CHARACTERS = 180;
function snippetElement(text, isMatch) {
  const first = markedWords(text, isMatch).find((word) => word.hit);
  let start = first ? Math.max(0, first.start - 60) : 0;
  if (start > 0) start = text.indexOf(" ", start) + 1 || start;
  let end = Math.min(text.length, start + SNIPPET_CHARACTERS);
  if (end < text.length) end = text.lastIndexOf(" ", end) > start ? text.lastIndexOf(" ", end) : end;
  const snippet = document.createElement("p");
  snippet.className = "card-snippet";
  if (start > 0) snippet.append("… ");
  appendMarked(snippet, text, start, end, isMatch);
  if (end < text.length) snippet.append(" …");
  return snippet;
}

// Under a result: the words the query matched in its summary, and from its page the section
// that matches best, its heading linked (page#heading).
async function addSnippet(copy, isMatch) {
  const summary = copy.querySelector(".card-summary");
  if (summary && summary.children.length === 0) {
    const text = summary.textContent;
    summary.replaceChildren();
    appendMarked(summary, text, 0, text.length, isMatch);
  }
  const best = bestSection(await loadFragment(copy.dataset.agent), isMatch);
  const link = copy.querySelector(".card-title a");
  if (!best || !link || !copy.isConnected) return;
  const block = document.createElement("div");
  block.className = "card-match";
  if (best.id) {
    const heading = document.createElement("a");
    const address = new URL(link.getAttribute("href"), document.baseURI);
    address.hash = best.id;
    heading.href = address.href;
    heading.className = "card-heading";
    appendMarked(heading, best.title, 0, best.title.length, isMatch);
    block.append(heading);
  }
  if (best.text) block.append(snippetElement(best.text, isMatch));
  copy.append(block);
}

// The word a corrected term stands for: the best result's word of that stem (a word the site
// has), else the one the correction made.
function shownWord([, shown, term], card) {
  return (card ? splitWords(card.textContent) : []).find((word) => stem(word) === term) || shown || term;
}

const MAX_NOTED = 3;
function quoted(words) {
  const shown = words.slice(0, MAX_NOTED).map((word) => say("quoted_word", { word })).join(say("list_separator"));
  return words.length > MAX_NOTED ? say("word_list_more", { words: shown, count: words.length - MAX_NOTED }) : shown;
}

function describeMeaning(meaning, noun) {
  if (!meaning) return "";
  const notes = [];
  if (meaning.corrections.length) {
    const top = meaning.cards[0];
    notes.push(say("showing_results_for", {
      words: quoted(meaning.corrections.map((correction) => shownWord(correction, top))),
      typed: quoted(meaning.corrections.map(([word]) => word)),
    }));
  }
  if (meaning.optional.length) {
    notes.push(say("words_not_required", { words: quoted(meaning.optional), count: meaning.optional.length }));
  }
  if (meaning.partial) {
    notes.push(meaning.everyCount
      ? say("some_match_every_word", { count: meaning.everyCount })
      : say(noun === "components" ? "no_component_matches_every_word" : "no_agent_matches_every_word"));
  }
  return notes.join(" ");
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

function showResults(matches, meaning) {
  for (const section of sections) section.hidden = true;
  const copies = matches.map((card) => {
    const copy = card.cloneNode(true);
    copy.hidden = false;
    return copy;
  });
  resultsList.replaceChildren(...copies);
  resultsList.hidden = false;
  if (meaning) copies.slice(0, SNIPPETS).forEach((copy) => addSnippet(copy, meaning.isMatch));
  return matches.length;
}

async function apply() {
  const ticket = ++latestQuery;
  const query = input.value.trim();
  const filters = selectedFilters();
  saveState(query, filters);
  const found = query ? await rankedMatches(query, filters) : null;
  if (ticket !== latestQuery) return; // a newer change is already on its way
  const shown = found ? showResults(found.matches, found.meaning) : showCategories(filters);
  updateCounts(filters, found ? found.found : cards);
  const active = query || Object.keys(filters).length;
  const noun = input.dataset.noun || "agents";
  const more = found && found.total > shown ? ` ${say("search_best_of", { count: found.total })}` : "";
  const meaning = found ? describeMeaning(found.meaning, noun) : "";
  const count = say(noun === "components" ? "search_count_components" : "search_count_agents", { shown, count: cards.length });
  countLine.textContent = active ? `${count}${more}${meaning ? say("sentence_break") + meaning : ""}` : "";
  noResults.hidden = shown > 0;
}

function clearAll() {
  input.value = "";
  for (const chip of chips) chip.setAttribute("aria-pressed", "false");
  apply();
  input.focus();
}

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
