// Progressive enhancements for every page. Without JavaScript every page still reads,
// links and prints; these only add the theme toggle, copy buttons and the live contents.
// A classic script, not a module: browsers refuse module scripts on pages opened from disk.
(() => {

const THEME_KEY = "agentpages-theme";
// The theme's words in the site's language come from assets/strings.js (a theme's base.html that
// leaves it out shows each text's key, and the build warns).
const say = window.agentpages ? window.agentpages.say : (key) => key;
const darkQuery = matchMedia("(prefers-color-scheme: dark)");
const wideQuery = matchMedia("(min-width: 60rem)");

function currentTheme() {
  return document.documentElement.dataset.theme || (darkQuery.matches ? "dark" : "light");
}

function setUpThemeToggle() {
  const button = document.querySelector("[data-theme-toggle]");
  if (!button) return;
  const label = () => {
    const text = say(currentTheme() === "dark" ? "switch_to_light" : "switch_to_dark");
    button.setAttribute("aria-label", text);
    button.title = text;
  };
  label();
  button.addEventListener("click", () => {
    const theme = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch (error) {
      // Not stored; the choice lasts for this page only.
    }
    label();
  });
  darkQuery.addEventListener("change", label);
}

function announce(message) {
  let region = document.getElementById("ap-announcer");
  if (!region) {
    region = document.createElement("div");
    region.id = "ap-announcer";
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    document.body.append(region);
  }
  region.textContent = message;
}

// Copy `text` (a string, or a promise of one) and say on the button whether it worked.
async function copyText(text, button) {
  const original = button.textContent;
  try {
    await navigator.clipboard.writeText(await text);
    button.textContent = say("copied");
    announce(say("copied_to_clipboard"));
  } catch (error) {
    button.textContent = say("copy_failed");
    announce(say("copying_failed"));
  }
  setTimeout(() => { button.textContent = original; }, 1500);
}

function addCodeCopyButtons() {
  for (const block of document.querySelectorAll(".agent-body .highlight, pre.command")) {
    const pre = block.tagName === "PRE" ? block : block.querySelector("pre");
    if (!pre) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = say("copy");
    button.setAttribute("aria-label", say("copy_code"));
    const source = pre.querySelector("code") || pre; // the code only, never the button's label
    button.addEventListener("click", () => copyText(source.textContent.replace(/\n$/, ""), button));
    block.classList.add("has-copy");
    block.append(button);
  }
}

function setUpInstallKit() {
  for (const button of document.querySelectorAll("[data-copy-url]")) {
    const url = new URL(button.dataset.copyUrl, location.href);
    if (url.protocol === "file:") { // a page from disk cannot fetch its neighbours
      button.hidden = true;
      continue;
    }
    button.addEventListener("click", async () => {
      // The file's address below this page, so the fetch stays on the host that served it.
      const text = fetch(url).then((response) => (response.ok ? response.text() : Promise.reject(new Error(response.status))));
      await copyText(text, button);
    });
  }
}

function setUpContents() {
  const menu = document.querySelector("[data-contents-menu]");
  if (!menu) return;
  const fit = () => { menu.open = wideQuery.matches; };
  fit();
  menu.dataset.fitted = ""; // from now on its own state shows (see style.css)
  wideQuery.addEventListener("change", fit);
  menu.addEventListener("toggle", () => { if (wideQuery.matches && !menu.open) menu.open = true; });
  menu.addEventListener("click", (event) => {
    if (event.target.closest("a") && !wideQuery.matches) menu.open = false;
  });

  const links = new Map();
  for (const link of menu.querySelectorAll('a[href^="#"]')) {
    links.set(decodeURIComponent(link.hash.slice(1)), link);
  }
  const headings = [...links.keys()].map((id) => document.getElementById(id)).filter(Boolean);
  const highlight = (id) => {
    for (const [key, link] of links) {
      if (key === id) link.setAttribute("aria-current", "location");
      else link.removeAttribute("aria-current");
    }
  };
  const update = () => {
    const offset = 32; // just past the scroll padding a jumped-to heading stops at
    let current = headings[0];
    for (const heading of headings) {
      if (heading.getBoundingClientRect().top - offset <= 0) current = heading;
    }
    // Near the end of a page the chosen heading may not reach the top: trust the link.
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && links.has(target.id)) {
      const top = target.getBoundingClientRect().top;
      if (top >= 0 && top < innerHeight / 2) current = target;
    }
    if (current) highlight(current.id);
  };
  let queued = false;
  addEventListener("scroll", () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; update(); });
  }, { passive: true });
  addEventListener("hashchange", update);
  update();
}

setUpThemeToggle();
addCodeCopyButtons();
setUpInstallKit();
setUpContents();
})();
