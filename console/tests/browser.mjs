// Debian's Chromium as the tests and the screenshots start it: headless, with a fresh profile, and
// none of its own background connections (this machine's network refuses them).
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
