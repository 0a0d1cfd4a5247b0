"""How fast the dashboard answers in a browser (issue 25's targets: first render with totals,
sidebar and clips <= 1 s after load, and each sidebar click answered in the page <= 200 ms,
statistics and map included, at 1M detections).

    python -m bench.pages [--detections 1000000] [--repeat 5] [--clicks 8]

A fresh data dir gets the demo (its users) and generated ETA videos of 100,000 detections each
(``--detections`` in all) under a schema of their own, ingested with ``manage.py ingest_file``;
``manage.py serve`` starts as ``make run`` starts it, with the map's tiles off (no network
here). Headless Debian Chromium (Playwright) signs in as the demo analyst, then:

- opens the dashboard ``--repeat`` times, each timed from the navigation's start until the
  search is shown (totals, sidebar, clips: ``body[data-search=ready]``) and until the
  statistics and the map are ready too;
- clicks ``--clicks`` sidebar values one after another (each adds a filter), each timed in the
  page from the click until the same two points.

Prints one JSON line per figure with p50 and max milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench.common import free_port, manage, serve, wait_for_port
from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video

PER_VIDEO = 100_000
OBJECTS_PER_FRAME = 10
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Records, in the page, when the search, the statistics and the map last came to an end (ready,
# or empty, or an error: anything but loading).
READY_TIMES = """
window.__ready = {};
const watch = (name, element, attribute) => new MutationObserver(() => {
  if (!['', 'loading'].includes(element.getAttribute(attribute) || '')) window.__ready[name] = performance.now();
}).observe(element, {attributes: true, attributeFilter: [attribute]});
document.addEventListener('DOMContentLoaded', () => {
  watch('search', document.body, 'data-search');
  watch('stats', document.getElementById('stats-body'), 'data-state');
  watch('map', document.getElementById('map'), 'data-state');
});
"""
ALL_READY = """() => Object.keys(window.__ready).length === 3"""


def build(data_dir: Path, work: Path, detections: int) -> int:
    """The demo and ``detections`` generated ones under schema ``bench``; returns its id."""
    manage(data_dir, "migrate")
    manage(data_dir, "load_demo")
    document = json.dumps(DEFAULT_ONTOLOGY.to_document())
    schema_id = manage(data_dir, "shell", "-c", "import json; from indexer.services import schema_create; "
                       f"print(schema_create(name='bench', document=json.loads({document!r}), author=None).pk)"
                       ).stdout.strip().splitlines()[-1]
    for number in range(max(1, detections // PER_VIDEO)):
        video = write_eta_video(work / f"v{number}.json", frames=PER_VIDEO // OBJECTS_PER_FRAME,
                                objects_per_frame=OBJECTS_PER_FRAME, seed=500 + number)
        manage(data_dir, "ingest_file", str(video.path), "--video", f"bench-{number}", "--schema", "bench",
               "--format", "eta", "--mode", "filter")
        video.path.unlink()
    manage(data_dir, "merge_index")
    return int(schema_id)


def measure(port: int, schema_id: int, repeat: int, clicks: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 -- a bench-only dependency

    timings: dict[str, list[float]] = {"load_search": [], "load_all": [], "click_search": [], "click_all": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=f"http://127.0.0.1:{port}")
        context.add_init_script(READY_TIMES)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto("/")
        page.fill("#id_username", "analyst")
        page.fill("#id_password", "scoop-analyst")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        for _ in range(repeat):
            page.goto(f"/?schema={schema_id}")
            page.wait_for_function(ALL_READY, polling=50)
            ready = page.evaluate("window.__ready")
            timings["load_search"].append(ready["search"])
            timings["load_all"].append(max(ready.values()))
        values = page.locator("#sidebar li.value input[type=checkbox]")
        for number in range(min(clicks, values.count())):
            page.evaluate("window.__ready = {}")
            started = page.evaluate("performance.now()")
            values.nth(number).click()
            page.wait_for_function(ALL_READY, polling=50)
            ready = page.evaluate("window.__ready")
            timings["click_search"].append(ready["search"] - started)
            timings["click_all"].append(max(ready.values()) - started)
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scoop-bench-pages-") as work:
        data_dir = Path(work) / "data"
        data_dir.mkdir()
        schema_id = build(data_dir, Path(work), args.detections)
        port = free_port()
        server = serve(data_dir, port, SCOOP_MAP_TILES="")
        try:
            wait_for_port(port)
            timings = measure(port, schema_id, args.repeat, args.clicks)
        finally:
            server.terminate()
            server.wait(timeout=60)
    for name, values in timings.items():
        print(json.dumps({"figure": name, "detections": args.detections, "runs": len(values),
                          "p50_ms": round(statistics.median(values)), "max_ms": round(max(values))}))


if __name__ == "__main__":
    main()
