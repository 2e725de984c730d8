"""Check the built book in headless Chromium: figures render and nothing leaves the machine.

``python tools/bookcheck.py _build/smoke/html --screenshots _build/smoke/screenshots`` serves the HTML on
localhost, opens every page with Debian's Chromium, and asserts for each page that

- every Plotly figure div was rendered by plotly.js (it gains the ``js-plotly-plot`` class and
  an SVG), and
- every URL the page requested is on localhost, or a data/blob URL.  Requests come from
  Chromium's net log; those the page initiated carry the page's origin as initiator.
  Chromium's own service calls (update checks, network time) have no page initiator and
  are not the page's doing: they are counted apart and would fail only if the page made them;

it saves a screenshot of each page.  A page with a figure that has a slider (the static explorer)
is also opened over the DevTools protocol (tools/cdp.py): a click on the slider's rail must
change the plotted curve, with no request leaving the machine.  Exit status 1 lists the
failures, one per line.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--hide-scrollbars"]
LOCAL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:|chrome:|chrome-error:)")


def find_chromium() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from cdp import find_chromium as find

    try:
        return find()
    except RuntimeError as exc:
        raise SystemExit(f"bookcheck: {exc}") from None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(root: Path):
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def page_requests(netlog: Path, page_url: str) -> set[str]:
    """URLs the page itself requested (its navigation and every load it initiated)."""
    if not netlog.is_file():
        return set()
    text = netlog.read_text()
    if not text.rstrip().endswith("}"):  # Chromium may stop before closing the JSON
        text = text.rstrip().rstrip(",") + "]}"
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = set()
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and "url" in params:
            initiator = params.get("initiator", "not an origin")
            if initiator != "not an origin" or params["url"] == page_url:
                urls.add(params["url"])
    return urls


def check_page(chromium: str, url: str, screenshot: Path, workdir: Path) -> tuple[dict, list[str]]:
    """Open one page; return (figure counts, problems)."""
    netlog = workdir / "netlog.json"
    profile = workdir / "profile"
    common = CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--virtual-time-budget=15000",
                               "--window-size=1280,2400"]
    dom = subprocess.run([chromium, *common, f"--log-net-log={netlog}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    subprocess.run([chromium, *common, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    figures = len(re.findall(r'class="plotly-graph-div', dom))
    rendered = len(re.findall(r'class="[^"]*js-plotly-plot', dom))
    svgs = len(re.findall(r'class="main-svg"', dom))
    problems = []
    if figures and (rendered < figures or svgs < figures):
        problems.append(f"{url}: {rendered} of {figures} Plotly figures rendered")
    requested = page_requests(netlog, url)
    outside = sorted(u for u in requested if not LOCAL.match(u))
    if outside:
        problems.append(f"{url}: requests left the machine: {', '.join(outside[:5])}")
    return {"figures": figures, "rendered": rendered, "requests": len(requested)}, problems


SLIDER_CURVE = """(() => { const g = Array.from(document.querySelectorAll('.js-plotly-plot'))
  .find(g => g.layout && g.layout.sliders && g.layout.sliders.length);
  return g && g._fullData && g._fullData[0] ? JSON.stringify(Array.from(g._fullData[0].y)) : null; })()"""
RAIL = """(() => { const r = document.querySelector('.slider-rail-rect');
  if (!r) return null; r.scrollIntoView({block: 'center'}); const b = r.getBoundingClientRect();
  return [b.left, b.top, b.width, b.height]; })()"""


def check_sliders(url: str, screenshot: Path) -> list[str]:
    """Move the first slider of the page by a click on its rail; the curve must change."""
    sys.path.insert(0, str(Path(__file__).parent))
    from cdp import chromium_page

    with chromium_page() as page:
        page.send("Page.navigate", {"url": url})
        before = page.wait_for(SLIDER_CURVE, 60, "a figure with a slider")
        left, top, width, height = page.wait_for(RAIL, 10, "the slider's rail")
        page.pump(0.5)
        left, top, width, height = page.evaluate(RAIL)
        x, y = left + 0.15 * width, top + height / 2
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            page.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})
        try:
            page.wait_for(f"(() => {{ const v = {SLIDER_CURVE}; return v && v !== {json.dumps(before)}; }})()", 20,
                          "the curve to change")
        except TimeoutError:
            return [f"{url}: a click on the slider did not change the plotted curve"]
        page.screenshot(screenshot)
        outside = page.outside_requests()
        return [f"{url}: requests left the machine: {', '.join(outside[:5])}"] if outside else []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/bookcheck.py", description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built book (e.g. _build/smoke/html)")
    parser.add_argument("--screenshots", type=Path, default=Path("_build/screenshots"))
    args = parser.parse_args(argv)
    pages = sorted(p for p in args.html.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts
                   and p.name not in ("genindex.html", "search.html"))
    if not pages:
        print(f"bookcheck: no pages under {args.html}", file=sys.stderr)
        return 1
    chromium = find_chromium()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    server = _serve(args.html)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    failures, with_figures = [], 0
    try:
        for page in pages:
            rel = page.relative_to(args.html).as_posix()
            with tempfile.TemporaryDirectory() as tmp:
                counts, problems = check_page(chromium, base + rel, args.screenshots / (rel.replace("/", "_") + ".png"),
                                              Path(tmp))
            with_figures += counts["figures"] > 0
            failures += problems
            if 'sliders' in page.read_text(errors="replace") and '"sliders"' in page.read_text(errors="replace"):
                slider_problems = check_sliders(base + rel, args.screenshots / (rel.replace("/", "_") + "-slider.png"))
                failures += slider_problems
                print(f"{rel}: slider moved the curve: {'ok' if not slider_problems else 'FAILED'}")
            print(f"{rel}: {counts['rendered']}/{counts['figures']} figures rendered, "
                  f"{counts['requests']} requests, {'ok' if not problems else 'FAILED'}")
    finally:
        server.shutdown()
    if with_figures == 0:
        failures.append("no page has a Plotly figure")
    for line in failures:
        print(line, file=sys.stderr)
    print(f"bookcheck: {len(pages)} pages, {with_figures} with figures, screenshots in {args.screenshots}; "
          f"{'all ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
