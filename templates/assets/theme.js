// Apply the reader's chosen theme before the page paints, so it never flashes.
try {
  const theme = localStorage.getItem("agentpages-theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
} catch (error) {
  // Storage may be off (private mode, file:// in some browsers): follow the system setting.
}
