#!/usr/bin/env python3
"""Corpus check: real HTML5 bundles, uploaded to the service, must behave as their originals.

For every ZIP in the corpus folder (see its MANIFEST.md) this starts the built service on embedded
SQLite in a fresh folder, uploads the bundle with a clickthrough, and loads two pages in headless
Chromium at the ad's size:
  * the original: the unzipped bundle from a local static server, and
  * the served page: the service's processed entry point under /cdn.
A bundle fails on
  * a request that fails only when served (by the file it names: rewritten names are mapped back),
  * a console error (or uncaught exception) only when served,
  * a click at the ad's centre that does not reach the service's /t/clk while the original's click
    opens something (when the original's click opens nothing either, that is reported, not failed),
  * a visible difference: both pages are captured at the same fake time (Playwright's clock drives
    timers, requestAnimationFrame and Date; CSS animations are settled by the screenshot) and compared
    pixel by pixel.
Screenshots and a JSON report go to --out. Exit status 1 when any bundle fails.

Run it through .ci/corpus-check.sh, which builds the service and prepares Python and Chromium.
"""

import argparse
import collections
import datetime
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile

from PIL import Image, ImageChops
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Fake times both pages are captured at: the build-up of a banner's first frame, the transitions
# between frames, and its end frame (most run under 15 s).
CAPTURE_AT_MS = [1000, 2500, 4000, 6000, 9000, 15000]
# Fake time moves in steps, each followed by the arrival of what the page requested and a moment for
# the events that follow (load handlers, observers): short steps while ads start, longer after.
def step_at(now_ms):
    return 100 if now_ms < 3000 else 500


SETTLE_MS = 50
# Fake start date, so date-dependent creatives draw the same thing in both.
CLOCK_START = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
# How long (real time) a click may take to reach the tracker.
CLICK_WAIT_MS = 3000
# A pixel differs when a channel differs by more than this; a page differs when more than
# VISIBLE_FRACTION of its pixels do (antialiasing of the same content never gets near it).
CHANNEL_TOLERANCE = 24
VISIBLE_FRACTION = 0.005
LANDING = "https://landing.example/corpus"
SERVED_NAME = re.compile(r"\.served\.[0-9a-f]+(\.[^./]+)$")
URL = re.compile(r"(?:https?|blob|data):[^\s'\"<>)]+")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """The service binary on embedded SQLite in its own folder, killed on exit."""

    def __init__(self, binary, work):
        self.key = "corpus-" + secrets.token_hex(12)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().endswith("_PROXY")
            and k not in ("DATABASE_URL", "OBJECT_STORE_URL", "TRACKING_SECRET", "CDN_BASE_URL")
        }
        env.update(
            DATA_DIR=os.path.join(work, "service"),
            LISTEN_ADDR=f"127.0.0.1:{self.port}",
            DEV_API_KEY=self.key,
            RUST_LOG=env.get("RUST_LOG", "warn"),
        )
        self.log = open(os.path.join(work, "service.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the service exited at start; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the service never answered /healthz")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def call(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if content_type == "application/json" else body
        req = urllib.request.Request(
            f"{self.base}/api/v2/buyer{path}",
            data=data,
            method=method,
            headers={"authorization": f"Bearer {self.key}", "content-type": content_type},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def upload(self, campaign, name, zip_bytes):
        boundary = uuid.uuid4().hex
        metadata = {
            "name": name,
            "url_asset": {"url": LANDING},
            "assets": [{"filename": name}],
        }
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n".encode(),
                json.dumps(metadata).encode(),
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/zip\r\n\r\n".encode(),
                zip_bytes,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.call(
            "POST",
            f"/campaigns/{campaign}/creatives/create",
            body,
            f"multipart/form-data; boundary={boundary}",
        )


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def static_server(root):
    handler = functools.partial(Quiet, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def key_of(url, bases):
    """What a URL names, the same for an original and its served copy: the file's path inside the
    bundle (rewritten names mapped back), else the URL without its query."""
    for base in bases:
        if url.startswith(base):
            path = url[len(base):].split("?")[0].split("#")[0]
            return SERVED_NAME.sub(r"\1", urllib.request.unquote(path))
    if url.startswith("data:"):
        return url[:40]
    return url.split("?")[0]


def normalise(text, bases):
    return URL.sub(lambda m: key_of(m.group(0), bases), text)


def observe(browser, url, size, bases, shot):
    """Loads `url` at `size`, captures it at each of CAPTURE_AT_MS of fake time (`shot(ms)` names
    the file), clicks its centre. What failed, what was logged as an error, and where the click
    went."""
    width, height = size
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    failed, errors, after_click, tracker = {}, [], [], []
    clicking = threading.Event()

    def ours(r):
        """A request of the ad's page (not of a popup the click opened)."""
        try:
            return r.frame.page == page
        except Exception:
            return False

    inflight = collections.Counter()

    def on_request_started(r):
        if ours(r):
            inflight[r] += 1

    def on_request_done(r):
        inflight.pop(r, None)

    def on_response(r):
        if r.status >= 400 and ours(r.request):
            failed[key_of(r.url, bases)] = f"HTTP {r.status}"

    def on_failed(r):
        on_request_done(r)
        if ours(r):
            failed[key_of(r.url, bases)] = r.failure or "failed"

    def settle():
        """Lets what the page asked for arrive before fake time moves on, so work that waits on
        loading (preloaded images starting a timeline) starts at the same fake time in every run."""
        deadline = time.monotonic() + 5
        while inflight and time.monotonic() < deadline:
            page.wait_for_timeout(10)
        page.wait_for_timeout(SETTLE_MS)

    def on_request(r):
        if clicking.is_set():
            after_click.append(r.url)

    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.on("request", on_request_started)
    page.on("requestfinished", on_request_done)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    ctx.on("request", on_request)
    ctx.on("page", lambda p: after_click.append(f"popup:{p.url}") if clicking.is_set() else None)
    # How the click tracker answered: a redirect means the link it was given is one it signed.
    ctx.on("response", lambda r: tracker.append(r.status) if "/t/clk" in r.url else None)
    # Installed clocks flow with real time until paused: paused from the start, both pages see the
    # same fake time at every step however long loading really takes.
    page.clock.install(time=CLOCK_START)
    page.clock.pause_at(CLOCK_START + datetime.timedelta(seconds=1))
    notes = []
    try:
        page.goto(url, wait_until="load", timeout=30000)
    except PlaywrightTimeout:
        notes.append("load event not reached in 30 s")
    try:
        page.wait_for_load_state("networkidle", timeout=10000)
    except PlaywrightTimeout:
        notes.append("network never idle")
    now = 0
    for at in CAPTURE_AT_MS:
        while now < at:
            step = min(step_at(now), at - now)
            page.clock.run_for(step)
            now += step
            settle()
        page.screenshot(path=shot(at), animations="disabled")

    clicking.set()
    page.mouse.click(width / 2, height / 2)
    page.clock.run_for(500)
    deadline = time.monotonic() + CLICK_WAIT_MS / 1000
    while time.monotonic() < deadline and not tracker:
        page.wait_for_timeout(100)
    # Whatever the click opened: popups and requests to anything but the page's own files.
    went = [u for u in after_click if "/t/clk" in u or not any(u.startswith(b) for b in bases)]
    ctx.close()
    return {
        "failed": failed,
        "errors": [normalise(e, bases) for e in errors],
        "click": went,
        "tracker": tracker,
        "notes": notes,
    }


def changed_pixels(a, b):
    """The mask (L image, 255 = differs in any channel) of pixels where two screenshots differ."""
    ia, ib = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    if ia.size != ib.size:
        return None
    channels = [
        c.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
        for c in ImageChops.difference(ia, ib).split()
    ]
    return ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])


def visible_difference(a, b, out, ignore=None):
    """A description of how b visibly differs from a, or None. Pixels set in `ignore` (where the
    original differs from itself at some time: a GIF on its own frame clock) are not counted."""
    ia, ib = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    if ia.size != ib.size:
        return f"sizes differ: {ia.size} vs {ib.size}"
    diff = ImageChops.difference(ia, ib)
    mask = changed_pixels(a, b)
    if ignore is not None and ignore.size == mask.size:
        mask = ImageChops.subtract(mask, ignore)
    changed = ia.size[0] * ia.size[1] - mask.histogram()[0]
    fraction = changed / (ia.size[0] * ia.size[1])
    if fraction > VISIBLE_FRACTION:
        diff.save(out)
        return f"{fraction:.1%} of pixels differ (see {out})"
    return None


def check_bundle(browser, service, campaign, path, static_root, static_base, out):
    name = os.path.basename(path)
    slug = name[: -len(".zip")]
    with open(path, "rb") as f:
        zip_bytes = f.read()
    status, m = service.upload(campaign, name, zip_bytes)
    if status != 201:
        return {"bundle": name, "pass": False, "reasons": [f"upload answered {status}: {m}"]}
    html = next((a for a in m["assets"] if a.get("bundle")), None)
    if not html or not html.get("processed_url"):
        return {"bundle": name, "pass": False, "reasons": ["no served page in the manifest"]}
    size = (html.get("width") or 300, html.get("height") or 250)
    entry = html["bundle"]["entry_point"]
    served_url = html["processed_url"]
    # The bundle's own folder on the CDN: `.../bundles/<hash>/`.
    after = served_url.rfind("/bundles/") + len("/bundles/")
    served_base = served_url[: served_url.index("/", after) + 1]
    with zipfile.ZipFile(path) as z:
        z.extractall(os.path.join(static_root, slug))
    original_url = f"{static_base}/{slug}/{urllib.request.quote(entry)}"
    bases = [f"{static_base}/{slug}/", served_base, service.base]

    def shot(kind):
        return lambda ms: os.path.join(out, f"{slug}.{ms:05}ms.{kind}.png")

    original = observe(browser, original_url, size, bases, shot("original"))
    # The original again: where it differs from itself (a GIF's own frame clock, work that waits on
    # real loading), no comparison can mean anything.
    again = observe(browser, original_url, size, bases, shot("original-again"))
    served = observe(browser, served_url, size, bases, shot("served"))

    reasons, remarks = [], []
    for key in sorted(set(served["failed"]) - set(original["failed"])):
        reasons.append(f"request fails only when served: {key} ({served['failed'][key]})")
    only_served = collections.Counter(served["errors"]) - collections.Counter(original["errors"])
    for text in only_served:
        reasons.append(f"console error only when served: {text[:300]}")
    if served["tracker"] and served["tracker"][0] != 302:
        reasons.append(f"the click tracker answered {served['tracker'][0]}, not a redirect")
    if not any("/t/clk" in u for u in served["click"]):
        if original["click"]:
            reasons.append(
                f"click does not reach /t/clk (the original's opens {original['click'][0][:120]})"
            )
        else:
            remarks.append("a click at the centre opens nothing in the original either")
    unstable = []
    differing = {}
    # Where the original differs from itself at any time (a GIF spinner on real time), no
    # comparison can mean anything at any time: those pixels are left out everywhere. A real
    # GIF frame clock can agree with itself by chance at one capture and not at the next.
    noise = None
    for ms in CAPTURE_AT_MS:
        m = changed_pixels(shot("original")(ms), shot("original-again")(ms))
        if m is not None:
            noise = m if noise is None else ImageChops.lighter(noise, m)
    for ms in CAPTURE_AT_MS:
        if visible_difference(shot("original")(ms), shot("original-again")(ms), shot("unstable")(ms)):
            unstable.append(ms)
            continue
        difference = visible_difference(
            shot("original")(ms), shot("served")(ms), shot("diff")(ms), ignore=noise
        )
        if difference:
            differing[ms] = difference
    if differing:
        # Once more before calling it: a difference must show in two runs of the served page.
        observe(browser, served_url, size, bases, shot("served-again"))
        for ms, difference in differing.items():
            if visible_difference(
                shot("original")(ms), shot("served-again")(ms), shot("diff-again")(ms), ignore=noise
            ):
                reasons.append(f"visible difference at {ms} ms: {difference}")
    if unstable:
        remarks.append(
            f"not compared at {', '.join(f'{ms} ms' for ms in unstable)}: the original differs from itself"
        )
    remarks += [f"original: {n}" for n in original["notes"]] + [f"served: {n}" for n in served["notes"]]
    return {
        "bundle": name,
        "pass": not reasons,
        "reasons": reasons,
        "remarks": remarks,
        "served_url": served_url,
        "click_tracker_answers": served["tracker"],
        "original_url": original_url,
        "size": size,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the built creative-manifests binary")
    ap.add_argument("--corpus", required=True, help="folder of bundle ZIPs (with MANIFEST.md)")
    ap.add_argument("--out", default="target/corpus-check", help="screenshots and report.json")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--only", help="check only bundles whose file name contains this")
    args = ap.parse_args()

    bundles = sorted(
        os.path.join(args.corpus, f)
        for f in os.listdir(args.corpus)
        if f.endswith(".zip") and (not args.only or args.only in f)
    )
    if not bundles:
        raise SystemExit(f"no bundles in {args.corpus}")
    listed = open(os.path.join(args.corpus, "MANIFEST.md"), encoding="utf-8").read()
    unlisted = [b for b in bundles if f"`{os.path.basename(b)}`" not in listed]
    if unlisted:
        print(f"note: not described in MANIFEST.md: {', '.join(map(os.path.basename, unlisted))}")

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    work = tempfile.mkdtemp(prefix="corpus-check-")
    static_root = os.path.join(work, "originals")
    os.makedirs(static_root)
    service = Service(args.binary, work)
    server = static_server(static_root)
    static_base = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    try:
        status, campaign = service.call(
            "POST", "/campaigns", {"name": "Corpus check", "brand_domain": "example.com", "products": []}
        )
        if status != 201:
            raise SystemExit(f"creating a campaign answered {status}: {campaign}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            for path in bundles:
                r = check_bundle(
                    browser, service, campaign["campaign_id"], path, static_root, static_base, args.out
                )
                # A failure made only of visible differences gets one fresh run: under load the
                # fake clock can catch an animation a frame apart. Anything else fails at once,
                # and a difference that shows again fails.
                if not r["pass"] and all(w.startswith("visible difference") for w in r["reasons"]):
                    print(f"  .. {r['bundle']}: visible difference only; checking once more")
                    r = check_bundle(
                        browser, service, campaign["campaign_id"], path, static_root, static_base, args.out
                    )
                results.append(r)
                print(f"{'PASS' if r['pass'] else 'FAIL'} {r['bundle']}")
                for why in r["reasons"]:
                    print(f"     - {why}")
                for remark in r.get("remarks", []):
                    print(f"     . {remark}")
                sys.stdout.flush()
            browser.close()
    finally:
        service.stop()
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(results, f, indent=2)
    failed = [r["bundle"] for r in results if not r["pass"]]
    print(f"\n{len(results) - len(failed)} of {len(results)} bundles pass; report in {args.out}/report.json")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
