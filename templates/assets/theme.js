// Apply the reader's chosen theme before the page paints, so it never flashes; and say that
// scripts run, so the controls they drive (search, copy buttons) take their place from the
// first paint instead of pushing the page down when they appear.
document.documentElement.dataset.scripts = "";
try {
  const theme = localStorage.getItem("agentpages-theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
} catch (error) {
  // Storage may be off (private mode, file:// in some browsers): follow the system setting.
}
