"""The web UI's journeys (issue 13) in headless Chromium, with an axe-core check on each page.

Starts the built service and a demo seller on free loopback ports, each with its own temporary
data folder, then drives the pages as a buyer and a storefront operator would. Run by
.ci/browser.sh, which installs what this needs; a missing browser or axe-core fails, never skips.
"""

import argparse
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
KEY = "ui-journeys-key-0123456789abcdef"
STANDARD = "https://creative.adcontextprotocol.org"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(path, width, height, rgb=(200, 60, 30)):
    """A plain PNG of the size asked, with the standard library only."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


def wait_http(url, proc, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process for {url} exited early:\n{Path(log).read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


class Axe:
    """axe-core, evaluated in each page; serious or critical violations fail the run."""

    def __init__(self, source):
        self.source = source
        self.failures = []
        self.checked = []

    def check(self, page, name):
        page.evaluate("() => {" + self.source + "\n}")
        result = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
        self.checked.append(name)
        for v in bad:
            targets = [n.get("target") for n in v.get("nodes", [])][:5]
            self.failures.append(f"{name}: {v['id']} ({v['impact']}): {v['help']} at {targets}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--axe", required=True, help="path of axe.min.js (npm axe-core)")
    ap.add_argument("--screenshots", required=True)
    args = ap.parse_args()

    if not os.access(args.chromium, os.X_OK):
        raise SystemExit(f"no Chromium at {args.chromium}: install Debian's chromium package")
    axe = Axe(Path(args.axe).read_text())
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="ui-journeys-"))
    seller_port, port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    seller_url = f"http://127.0.0.1:{seller_port}"
    procs = []
    env = dict(os.environ, RUST_LOG="info")
    seller_log = work / "seller.log"
    procs.append(subprocess.Popen(
        [args.binary, "demo-seller", "--seller-addr", f"127.0.0.1:{seller_port}",
         "--data-dir", str(work / "seller-data")],
        stdout=open(seller_log, "w"), stderr=subprocess.STDOUT, env=env))
    svc_log = work / "service.log"
    svc_env = dict(env, DATA_DIR=str(work / "data"), LISTEN_ADDR=f"127.0.0.1:{port}",
                   OUTBOUND_ALLOW_PRIVATE="true", STANDARD_AGENT_PREVIEWS="false",
                   STOREFRONT_WEBHOOK_ALLOW_LOOPBACK="true", DEV_API_KEY=KEY,
                   WORKER_POLL_MS="200", REVIEW_RECONCILE_SECS="2")
    procs.append(subprocess.Popen([args.binary, "serve"], stdout=open(svc_log, "w"),
                                  stderr=subprocess.STDOUT, env=svc_env))
    try:
        wait_http(f"{base}/healthz", procs[1], svc_log)
        files = {
            "image_300x250.png": FIXTURES / "image_300x250.png",
            "image_728x90.gif": FIXTURES / "image_728x90.gif",
            "video_64x36_15s.mp4": FIXTURES / "video_64x36_15s.mp4",
            "takeover_970x250.png": png(work / "takeover_970x250.png", 970, 250),
            "footer_320x50.png": png(work / "footer_320x50.png", 320, 50, (20, 90, 160)),
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            try:
                run(browser, base, seller_url, files, work, axe, shots)
            finally:
                browser.close()
        # The key never reaches a log line either.
        # (The dev key is printed once at start-up, by design; no request's line may carry it.)
        for line in svc_log.read_text().splitlines():
            if "request{" in line and KEY in line:
                raise SystemExit(f"the API key appears in a request's log line: {line}")
    except BaseException:
        for log in (svc_log, seller_log):
            if log.exists():
                print(f"---- {log} (tail)\n{log.read_text()[-6000:]}", file=sys.stderr)
        raise
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    if axe.failures:
        print("axe-core: serious or critical violations:", file=sys.stderr)
        for f in axe.failures:
            print("  " + f, file=sys.stderr)
        raise SystemExit(1)
    print(f"journeys passed; axe-core clean on {len(axe.checked)} pages: {', '.join(axe.checked)}")


def no_key(page):
    assert KEY not in page.url, "the key is in a URL"
    assert KEY not in page.content(), f"the key is in the page {page.url}"


def check(page, axe, shots, name, narrow=True):
    """Every page: no key in it, axe-clean, screenshot at desktop width and at 360 px."""
    no_key(page)
    axe.check(page, name)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    if narrow:
        size = page.viewport_size
        page.set_viewport_size({"width": 360, "height": 800})
        # Nothing may need sideways scrolling at 360 px, except inside tables' own scroll boxes.
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        if overflow > 362:
            # Name the culprit: the first top-level block whose removal ends the overflow.
            wide = page.evaluate("""() => {
                const out = [];
                for (const e of document.querySelectorAll('main > *, main section > *, body > *')) {
                    const d = e.style.display; e.style.display = 'none';
                    const w = document.documentElement.scrollWidth; e.style.display = d;
                    if (w <= 362) out.push(e.tagName + '.' + e.className + '#' + e.id);
                }
                return out.slice(0, 5);
            }""")
            raise AssertionError(f"{name} is {overflow} px wide at 360 px: {wide}")
        axe.check(page, name + " (360 px)")
        page.screenshot(path=str(shots / f"{name}-360.png"), full_page=True)
        page.set_viewport_size(size)


def flash(page):
    return page.locator("#flash").inner_text()


def run(browser, base, seller_url, files, work, axe, shots):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Console errors (a CSP refusal, a failed script) go to the run's output as they happen.
    page.on("console", lambda m: m.type == "error" and print(f"console error on {page.url}: {m.text}", file=sys.stderr))

    # ---- Signed out, pages refuse and send to the sign-in page.
    page.goto(f"{base}/ui/campaigns")
    expect(page).to_have_url(re.compile(r"/ui/sign-in$"))
    check(page, axe, shots, "sign-in")
    page.fill("#api_key", "not-a-key-at-all-000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[role=alert]")).to_contain_text("not valid")

    # ---- Sign in.
    page.fill("#api_key", KEY)
    page.locator("form button[type=submit]", has_text="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns$"))
    cookies = {c["name"]: c for c in ctx.cookies()}
    session = cookies["cm_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict", session
    check(page, axe, shots, "campaigns-empty", narrow=False)

    # ---- Sales agents: the demo seller.
    page.click("nav >> text=Sales agents")
    page.fill("#sa_name", "Demo seller")
    page.fill("#sa_url", f"{seller_url}/mcp")
    page.select_option("#sa_lib", "true")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#flash")).to_contain_text("registered")
    page.click("#refresh")
    expect(page.locator("#flash")).to_contain_text("Formats refreshed")
    expect(page.locator("#last-error")).to_have_text("none")
    demo_agent_url = page.url
    check(page, axe, shots, "sales-agent")

    # ---- Storefront operator: a storefront in front of the demo seller, a buyer account.
    page.click("nav >> text=Storefronts")
    page.fill("#sf_name", "Acme Media storefront")
    page.select_option("#sf_agent", label="Demo seller")
    page.select_option("#sf_mode", "manual")
    page.get_by_role("button", name="Create storefront").click()
    expect(page.locator("#flash")).to_contain_text("Storefront created")
    mcp_url = page.locator("#mcp-url").inner_text().strip()
    page.fill("#acc_name", "Acme buyer")
    page.fill("#acc_domains", "acme.com")
    page.get_by_role("button", name="Create account").click()
    buyer_key = page.locator("#new-key").input_value()
    assert buyer_key.startswith("sfk_"), buyer_key
    check(page, axe, shots, "storefront")
    # Shown once: reloading the storefront's page does not show it again.
    page.goto(page.url.split("/accounts")[0])
    assert buyer_key not in page.content()
    expect(page.locator("#new-key")).to_have_count(0)

    # ---- The buyer's second seller: the storefront, with the account's key.
    page.goto(f"{base}/ui/sales-agents")
    page.fill("#sa_name", "Acme storefront")
    page.fill("#sa_url", mcp_url)
    page.fill("#sa_token", buyer_key)
    page.select_option("#sa_lib", "true")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#flash")).to_contain_text("registered")
    page.click("#refresh")
    expect(page.locator("#flash")).to_contain_text("Formats refreshed")
    assert buyer_key not in page.content(), "a seller token is shown"
    page.goto(f"{base}/ui/sales-agents")
    check(page, axe, shots, "sales-agents")

    # ---- Create a campaign: one product per seller, formats from the registry.
    page.goto(f"{base}/ui/campaigns/new")
    page.fill("#name", "Autumn launch")
    page.fill("#brand_domain", "acme.com")
    page.fill("#start_time", "2027-01-01T00:00")
    page.fill("#end_time", "2027-02-01T00:00")
    check(page, axe, shots, "campaign-new")
    page.fill("#product_id_0", "homepage_display")
    page.select_option("#sales_agent_id_0", label="Demo seller")
    page.select_option("#formats_0", [f"{STANDARD}|display_300x250", f"{STANDARD}|display_728x90",
                                      f"{STANDARD}|video_standard_15s"])
    page.fill("#budget_0", "5000")
    page.fill("#pricing_option_id_0", "cpm_usd_fixed")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("#flash")).to_contain_text("Campaign created")
    campaign_url = page.url.split("?")[0]
    # A second product, on the storefront, added through the edit form.
    page.goto(campaign_url + "/edit")
    page.fill("#product_id_1", "storefront_library")
    page.select_option("#sales_agent_id_1", label="Acme storefront")
    page.select_option("#formats_1", [f"{seller_url}|homepage_takeover", f"{seller_url}|sticky_footer"])
    page.fill("#budget_1", "1000")
    page.fill("#pricing_option_id_1", "cpm_usd_fixed")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.locator("#flash")).to_contain_text("Campaign saved")
    expect(page.locator("#coverage .missing")).to_have_count(5)
    expect(page.locator("#coverage")).to_contain_text("would be covered by")

    # ---- Drop three files: three progress bars finish, coverage moves from missing to covered.
    drop(page, [files["image_300x250.png"], files["image_728x90.gif"], files["video_64x36_15s.mp4"]])
    expect(page.locator("#uploads li")).to_have_count(3)
    expect(page.locator("#uploads li[data-state=done]")).to_have_count(3, timeout=60_000)
    for bar in page.locator("#uploads progress").all():
        expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#overall-progress")).to_have_attribute("value", "100")
    expect(page.locator("#uploads")).to_contain_text("300×250")
    expect(page.locator("#uploads")).to_contain_text("15 s")
    expect(page.locator("#coverage .covered")).to_have_count(3)
    expect(page.locator("#coverage .missing")).to_have_count(2)
    check(page, axe, shots, "campaign-upload", narrow=False)
    # An unsupported file is refused next to its name, in words.
    page.set_input_files("#files", [str(FIXTURES / "program.exe")])
    page.click("#upload button[type=submit]")
    failed = page.locator("#uploads li[data-state=failed]")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("program.exe")
    expect(failed).to_contain_text("not accepted")
    # The storefront's two formats, picked (not dropped) this time.
    page.set_input_files("#files", [str(files["takeover_970x250.png"]), str(files["footer_320x50.png"])])
    page.click("#upload button[type=submit]")
    expect(page.locator("#uploads li[data-state=done]")).to_have_count(2, timeout=60_000)
    expect(page.locator("#coverage .missing")).to_have_count(0)
    expect(page.locator("#coverage .covered")).to_have_count(5)
    page.reload()
    expect(page.locator(".grid .tile")).to_have_count(5)
    check(page, axe, shots, "campaign")

    # ---- Open a manifest and its preview.
    page.click(".grid .tile a:has-text('image_300x250.png')")
    expect(page.locator("h1")).to_have_text("image_300x250.png")
    frame = page.locator("iframe#preview")
    expect(frame).to_have_attribute("sandbox", "allow-scripts")
    expect(frame).to_have_attribute("width", "300")
    expect(frame).to_have_attribute("height", "250")
    expect(page.frame_locator("iframe#preview").locator("img, iframe, video").first).to_be_visible()
    expect(page.locator("#assets-h + .table-wrap")).to_contain_text("IMAGE")
    # Validate against a chosen format: the violations are listed.
    page.select_option("#target", f"{STANDARD}|display_728x90")
    page.click("#validate-h ~ form button")
    expect(page.locator("#validation")).to_contain_text("fails")
    check(page, axe, shots, "manifest")
    # Add a file to it, with its own progress, through the API's update.
    page.set_input_files("#add_file", str(FIXTURES / "logo.png"))
    # Once the page has settled (the viewport just changed back; the preview frame reflows it).
    page.wait_for_load_state("networkidle")
    upload = page.locator("#add-asset").get_by_role("button", name="Upload file")
    upload.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    upload.click()
    expect(page.locator("#assets-h + .table-wrap")).to_contain_text("logo.png")
    # Rename, through the same update the API has.
    page.fill("#ed_name", "Autumn 300x250")
    page.click("#edit-h ~ form >> text=Save")
    expect(page.locator("#flash")).to_contain_text("Manifest saved")
    expect(page.locator("h1")).to_have_text("Autumn 300x250")

    # ---- Propagation: what goes to whom, then execute; the demo seller succeeds.
    page.goto(campaign_url + "/propagation")
    expect(page.locator("#plan-h ~ .seller-plan")).to_have_count(2)
    expect(page.locator(".seller-plan").first).to_contain_text("homepage_display")
    check(page, axe, shots, "propagation-plan", narrow=False)
    page.click("#execute")
    expect(page.locator("#flash")).to_contain_text("Executed: 2 seller(s)")
    demo = page.locator(".seller-status", has_text="Demo seller")
    expect(demo).to_contain_text("Media buy")
    expect(demo.locator(".status-succeeded").first).to_be_visible()
    check(page, axe, shots, "propagation")

    # ---- The storefront's operator: approve one, reject another with a note.
    page.goto(f"{base}/ui/reviews")
    expect(page.locator("tbody tr")).to_have_count(2)
    check(page, axe, shots, "review-queue")
    page.click("tbody tr >> nth=0 >> a")
    expect(page.locator(".review-render")).to_have_attribute("sandbox", "")
    expect(page.locator("pre.json")).to_contain_text("assets")
    assert buyer_key not in page.content()
    check(page, axe, shots, "review")
    approved_name = page.locator("h1").inner_text()
    page.click("#approve")
    expect(page.locator("#review-status")).to_have_text("approved")
    page.goto(f"{base}/ui/reviews")
    page.click("tbody tr >> nth=0 >> a")
    rejected_name = page.locator("h1").inner_text()
    note = "The logo is smaller than our 20 px minimum."
    page.fill("#note", note)
    page.click("#reject")
    expect(page.locator("#review-status")).to_have_text("rejected")
    page.goto(f"{base}/ui/reviews?status=all")
    expect(page.locator("tbody tr")).to_have_count(2)

    # ---- The buyer's campaign page shows both decisions (webhooks, then list_creatives).
    deadline = time.monotonic() + 60
    while True:
        page.goto(campaign_url)
        tiles = page.locator(".grid .tile")
        ok = tiles.filter(has_text=approved_name).locator(".status-approved").count() > 0 and \
            tiles.filter(has_text=rejected_name).locator(".status-rejected").count() > 0
        if ok or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(tiles.filter(has_text=approved_name).locator(".status-approved")).to_have_count(1)
    expect(tiles.filter(has_text=rejected_name).locator(".status-rejected")).to_have_count(1)
    expect(tiles.filter(has_text=rejected_name)).to_contain_text(note)
    check(page, axe, shots, "campaign-decisions", narrow=False)

    # ---- Delivery: chart, table, CSV.
    page.goto(campaign_url + "/delivery")
    expect(page.locator("h1")).to_have_text("Delivery")
    check(page, axe, shots, "delivery")
    with page.expect_download() as d:
        page.click("#csv")
    path = d.value.path()
    header = Path(path).read_text().splitlines()[0]
    assert header.startswith("creative_id"), header

    # ---- Sign out: the pages refuse, and so does the script API.
    page.locator("button", has_text="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    expect(page.locator("#flash")).to_contain_text("signed out")
    page.goto(campaign_url)
    expect(page).to_have_url(re.compile(r"/ui/sign-in$"))
    status = page.evaluate("async () => (await fetch('/ui/api/buyer/campaigns')).status")
    assert status == 401, status
    # The old cookie, replayed, opens nothing.
    ctx2 = browser.new_context()
    ctx2.add_cookies([session])
    p2 = ctx2.new_page()
    p2.goto(campaign_url)
    expect(p2).to_have_url(re.compile(r"/ui/sign-in$"))
    ctx2.close()
    assert not errors, f"script errors: {errors}"
    ctx.close()


def drop(page, paths):
    """Drops files on the drop zone as a person dragging them from the desktop does."""
    handle = page.evaluate_handle("() => new DataTransfer()")
    for path in paths:
        data = list(Path(path).read_bytes())
        page.evaluate(
            """([dt, name, bytes]) => dt.items.add(new File([new Uint8Array(bytes)], name))""",
            [handle, Path(path).name, data])
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": handle})


if __name__ == "__main__":
    main()
