// Live reload for `agentpages serve`, added to pages at serve time only.
// Listens for builds over Server-Sent Events; reloads the page when it changed, keeping the
// scroll position, and shows build errors over the page until the next good build.

const SCROLL_KEY = "agentpages-scroll:" + location.pathname;
const here = location.pathname.replace(/^\//, "").replace(/(^|\/)$/, "$1index.html");
let lastEpoch = null;

const saved = sessionStorage.getItem(SCROLL_KEY);
if (saved !== null) {
  sessionStorage.removeItem(SCROLL_KEY);
  addEventListener("load", () => scrollTo(0, Number(saved)));
}

// The overlay is this script's own element, held here: an agent's text may carry any id, so it
// is never looked up by one.
let overlay = null;

function showErrors(errors) {
  if (!errors.length) {
    overlay?.remove();
    overlay = null;
    return;
  }
  if (!overlay || !overlay.isConnected) {
    overlay = document.createElement("div");
    overlay.id = "agentpages-errors";
    overlay.setAttribute("role", "alert");
    Object.assign(overlay.style, {
      position: "fixed", inset: "auto 1rem 1rem 1rem", zIndex: "2147483647", maxHeight: "50vh",
      overflow: "auto", padding: "1rem 1.25rem", background: "#2d0a0e", color: "#ffdcdc",
      border: "2px solid #ff6b6b", borderRadius: "8px", font: "14px/1.5 ui-monospace, monospace",
      boxShadow: "0 8px 30px rgba(0,0,0,.4)", whiteSpace: "pre-wrap",
    });
    document.body.append(overlay);
  }
  const title = document.createElement("strong");
  title.textContent = "agentpages: the last build has errors; the page shows the last good version.";
  const list = document.createElement("div");
  list.dataset.errors = "";
  list.textContent = "\n" + errors.join("\n");
  overlay.replaceChildren(title, list);
}

function onBuild(event) {
  const state = JSON.parse(event.data);
  showErrors(state.errors);
  const changedHere = state.changed.includes("*") || state.changed.includes(here);
  if (lastEpoch !== null && state.epoch > lastEpoch && changedHere) {
    sessionStorage.setItem(SCROLL_KEY, String(scrollY));
    location.reload();
  }
  lastEpoch = state.epoch;
}

const source = new EventSource("/__agentpages/events");
source.addEventListener("hello", (event) => {
  const state = JSON.parse(event.data);
  if (lastEpoch !== null && state.epoch !== lastEpoch) {
    location.reload(); // the server restarted or builds happened while disconnected
    return;
  }
  lastEpoch = state.epoch;
  showErrors(state.errors);
});
source.addEventListener("build", onBuild);
