"""The web face: server-rendered pages (Jinja2, htmx, Pico CSS, uPlot, all vendored) on the
app of `mql serve`, signed in with an API token (docs/web.md)."""
