#!/usr/bin/env python3
"""The operator console in a real browser: Debian's chromium and chromium-driver, driven by Selenium.

Runs the built gigs-relay binary on a fresh SQLite store in a temporary folder, with a real HTTP
receiver (Tests/Support/webhook_receiver.py) that fails the first delivery and accepts the rest, posts
signed events, and walks the console as support staff would: sign in; find an event by subscription
id; open it and read its failed delivery's lastError; retry it from the dead-letter page and see it
succeed at the receiver; replay an event; sign out. It also checks that no page breaks its own
Content-Security-Policy.

A screenshot of each page goes to $SCREENSHOTS (default: a temporary folder, printed at the end).
With --update-readme, the overview and event pages also replace the two committed for the README
(Tests/Browser/screenshots/).

Usage: Tests/Browser/console_test.py [--binary .build/debug/gigs-relay] [--update-readme]
"""
import argparse
import datetime
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from standardwebhooks.webhooks import Webhook

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
parser = argparse.ArgumentParser()
parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "gigs-relay"))
parser.add_argument("--update-readme", action="store_true")
args = parser.parse_args()
binary = os.path.abspath(args.binary)  # the daemon runs in a temporary folder

work = tempfile.mkdtemp(prefix="gigs-relay-browser-")
screenshots = os.environ.get("SCREENSHOTS") or os.path.join(work, "screenshots")
os.makedirs(screenshots, exist_ok=True)
children = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secret():
    import base64
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def eventually(what, check, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {what}")


webhook_secret, action_secret = secret(), secret()
admin_token = "adm_" + uuid.uuid4().hex
port = free_port()
base = f"http://127.0.0.1:{port}"

# The receiver: the first request gets 500, every later one 200.
with open(os.path.join(work, "statuses"), "w") as f:
    f.write("500 200")
receiver = subprocess.Popen(
    [sys.executable, os.path.join(ROOT, "Tests", "Support", "webhook_receiver.py"),
     "--record", os.path.join(work, "requests.jsonl"), "--statuses-file", os.path.join(work, "statuses"),
     "--secret", action_secret],
    stdout=subprocess.PIPE, text=True)
children.append(receiver)
receiver_port = int(receiver.stdout.readline().split()[1])

# The Gigs API (a fake, as the only remote part): no subscriptions, and one applied subscription change
# whose webhook never came, so [reconcile] finds it missing and stores a stand-in (routed nowhere).
applied = (datetime.datetime.now(tz=datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime(
    "%Y-%m-%dT%H:%M:%SZ")
gigs_lists = {
    "/projects/dev-project/subscriptions": [],
    "/projects/dev-project/subscriptionChanges": [{
        "object": "subscriptionChange", "id": "sch_browser", "status": "applied", "subscription": "sub_browser_c",
        "createdAt": applied, "appliedAt": applied}],
}


class GigsAPI(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        items = gigs_lists.get(self.path.split("?")[0])
        body = json.dumps({"object": "list", "items": items, "moreItemsAfter": None} if items is not None
                          else {"object": "error", "type": "not_found", "message": "no such list"}).encode()
        self.send_response(200 if items is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


gigs_api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GigsAPI)
threading.Thread(target=gigs_api.serve_forever, daemon=True).start()

with open(os.path.join(work, "gigs-relay.toml"), "w") as f:
    f.write(f"""
[server]
listen = "127.0.0.1:{port}"
[admin]
token = "env:ADMIN_TOKEN"
redact = ["/data/user/email"]
[store]
path = "var/events.sqlite3"
[webhook]
secrets = ["env:GIGS_WEBHOOK_SECRET"]
[dispatch]
max_attempts = 1
[actions.backend]
kind = "http"
url = "http://127.0.0.1:{receiver_port}/hook"
secret = "env:ACTION_SECRET"
[[routes]]
events = ["com.gigs.subscription.*"]
actions = ["backend"]
[gigs]
api_url = "http://127.0.0.1:{gigs_api.server_address[1]}"
project = "dev-project"
token = "env:GIGS_API_TOKEN"
[reconcile]
emit = true
""")
daemon_log = open(os.path.join(work, "daemon.log"), "w")
daemon = subprocess.Popen(
    [binary, "serve", "--config", os.path.join(work, "gigs-relay.toml")], cwd=work,
    env=dict(os.environ, ADMIN_TOKEN=admin_token, GIGS_WEBHOOK_SECRET=webhook_secret, ACTION_SECRET=action_secret,
             GIGS_API_TOKEN="gigs-browser-token"),
    stdout=daemon_log, stderr=subprocess.STDOUT)
children.append(daemon)


def healthy():
    try:
        return urllib.request.urlopen(f"{base}/healthz", timeout=1).status == 200
    except OSError:
        return False


def post_event(event_id, subscription):
    body = json.dumps({
        "object": "event", "id": event_id, "type": "com.gigs.subscription.activated", "project": "dev-project",
        "source": "https://api.gigs.com", "specversion": "1.0", "time": "2026-11-27T10:00:00Z",
        "datacontenttype": "application/json", "version": "2025-05-22",
        "data": {"object": "subscription", "id": subscription, "status": "active",
                 "sim": {"object": "sim", "id": "sim_browser", "type": "eSIM"},
                 "user": {"object": "user", "id": "usr_browser", "email": "jane@example.com",
                          "fullName": "Jane <b>Doe</b>", "preferredLocale": "en-US"}}})
    message_id = "msg_" + uuid.uuid4().hex
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    signature = Webhook(webhook_secret).sign(message_id, now, body)
    request = urllib.request.Request(f"{base}/webhooks/gigs", data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature})
    assert urllib.request.urlopen(request, timeout=10).status == 202


def received(event_id):
    path = os.path.join(work, "requests.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row for row in rows if event_id in row.get("body", "")]


def api(path):
    request = urllib.request.Request(f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {admin_token}"})
    return json.load(urllib.request.urlopen(request, timeout=10))


driver = None
try:
    eventually("the daemon answers /healthz", healthy)
    post_event("evt_browser_1", "sub_browser_a")
    eventually("the first delivery is dead", lambda: api("/deliveries?status=dead")["deliveries"])
    post_event("evt_browser_2", "sub_browser_b")
    eventually("the second event is delivered", lambda: received("evt_browser_2"))

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--disable-gpu", "--lang=en-US"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    # A page being replaced by the next one leaves the element just found stale, or (chromedriver's
    # other way of saying so) "Node with given id does not belong to the document": look again.
    class Wait:
        def __init__(self):
            self.inner = WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException])

        def until(self, condition):
            def settled(d):
                try:
                    return condition(d)
                except WebDriverException as error:
                    if "does not belong to the document" in str(error):
                        return False
                    raise
            return self.inner.until(settled)

    wait = Wait()

    def shot(name):
        driver.save_screenshot(os.path.join(screenshots, f"{name}.png"))

    def heading():
        return driver.find_element(By.TAG_NAME, "h1").text

    # Signed out, the console sends the browser to sign in.
    driver.get(f"{base}/console")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "token")))
    assert heading() == "Sign in", heading()
    shot("sign-in")
    driver.find_element(By.ID, "token").send_keys("not-the-token")
    driver.find_element(By.ID, "sign-in").click()
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "p.error")))
    driver.find_element(By.ID, "token").send_keys(admin_token)
    driver.find_element(By.ID, "sign-in").click()
    wait.until(lambda d: heading() == "Overview")
    assert "backend" in driver.find_element(By.CSS_SELECTOR, "table.actions").text
    cookie = driver.get_cookie("gigs_relay_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
    shot("overview")

    # Find the event by its subscription id, and open it.
    driver.find_element(By.LINK_TEXT, "Events").click()
    wait.until(lambda d: heading() == "Events")
    driver.find_element(By.ID, "subject").send_keys("sub_browser_a")
    driver.find_element(By.ID, "filter").click()
    wait.until(lambda d: "subject=sub_browser_a" in d.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
    assert len(rows) == 1 and "evt_browser_1" in rows[0].text, [row.text for row in rows]
    shot("events")
    driver.find_element(By.LINK_TEXT, "evt_browser_1").click()
    wait.until(lambda d: "evt_browser_1" in heading())
    last_error = driver.find_element(By.CSS_SELECTOR, ".last-error").text
    assert "lastError" in last_error and "500" in last_error, last_error
    payload = driver.find_element(By.ID, "payload").text
    assert "Jane <b>Doe</b>" in payload and "jane@example.com" not in driver.page_source, payload
    shot("event")

    # Retry it from the dead-letter page: the receiver now accepts it.
    driver.find_element(By.LINK_TEXT, "Dead letters").click()
    wait.until(lambda d: heading() == "Dead letters")
    dead_rows = driver.find_elements(By.CSS_SELECTOR, "table.dead tbody tr")
    assert len(dead_rows) == 1 and "evt_browser_1" in dead_rows[0].text, [row.text for row in dead_rows]
    shot("dead-letters")
    dead_rows[0].find_element(By.CSS_SELECTOR, "button.retry").click()
    wait.until(lambda d: "Retried 1 delivery." in d.find_element(By.CSS_SELECTOR, ".notice").text)
    eventually("the retried delivery reaches the receiver", lambda: len(received("evt_browser_1")) == 2)
    driver.get(f"{base}/console/events/evt_browser_1")
    eventually("the event page shows the delivery succeeded", lambda: (
        driver.refresh() or "succeeded" in driver.find_element(By.CSS_SELECTOR, ".delivery h3").text))
    assert not driver.find_elements(By.CSS_SELECTOR, "table.dead tbody tr button")

    # Replay another event to its action.
    driver.get(f"{base}/console/events/evt_browser_2")
    Select(driver.find_element(By.ID, "replay-action")).select_by_value("backend")
    driver.find_element(By.ID, "replay").click()
    wait.until(lambda d: "Replayed: 1 new delivery." in d.find_element(By.CSS_SELECTOR, ".notice").text)
    eventually("the replay reaches the receiver", lambda: len(received("evt_browser_2")) == 2)
    eventually("the event page lists the replay", lambda: (
        driver.refresh() or "(replay)" in driver.find_element(By.TAG_NAME, "main").text))
    shot("event-replayed")

    # Reconciliation: the schedule's first run found the change Gigs never told about and stored its
    # stand-in; the page links to it.
    driver.find_element(By.LINK_TEXT, "Reconciliation").click()
    wait.until(lambda d: heading() == "Reconciliation")
    wait.until(lambda d: driver.refresh() or "complete" in d.find_element(By.CSS_SELECTOR, "table.reconciliation").text)
    runs = driver.find_element(By.CSS_SELECTOR, "table.reconciliation").text
    assert "schedule" in runs and "sch_browser" in runs and "com.gigs.subscriptionChange.applied" in runs, runs
    shot("reconciliation")
    driver.find_element(By.LINK_TEXT, "stand-in").click()
    wait.until(lambda d: heading().startswith("Event evt_reconciled_"))
    assert "sch_browser" in driver.find_element(By.ID, "payload").text
    assert driver.find_elements(By.CSS_SELECTOR, "dd.reconciled"), "the event page says it was reconciled"

    # No page broke the Content-Security-Policy (the overview's script, the stylesheet).
    driver.get(f"{base}/console/overview")
    wait.until(lambda d: heading() == "Overview")
    time.sleep(5.5)  # one refresh of the counts by console.js
    # (The refused sign-in's 401 is logged as a failed resource; anything else severe is a fault.)
    violations = [entry["message"] for entry in driver.get_log("browser")
                  if "Content Security Policy" in entry["message"]
                  or (entry["level"] == "SEVERE" and "status of 401" not in entry["message"])]
    assert not violations, violations

    # Sign out: back to the sign-in form, and the console no longer opens.
    driver.find_element(By.ID, "sign-out").click()
    wait.until(lambda d: heading() == "Sign in")
    driver.get(f"{base}/console/dead")
    wait.until(lambda d: heading() == "Sign in")

    with open(os.path.join(work, "daemon.log")) as f:
        log = f.read()
    assert admin_token not in log and "jane@example.com" not in log
    assert "relay.operator=console:" in log and "relay.change=retry" in log and "relay.change=replay" in log
    if args.update_readme:
        for name in ["overview", "event"]:
            shutil.copy(os.path.join(screenshots, f"{name}.png"),
                        os.path.join(ROOT, "Tests", "Browser", "screenshots", f"{name}.png"))
    print(f"console browser test passed; screenshots in {screenshots}")
except Exception:
    if driver:
        try:
            driver.save_screenshot(os.path.join(screenshots, "failure.png"))
            print(driver.page_source[:4000], file=sys.stderr)
        except Exception:
            pass
    daemon_log.flush()
    with open(os.path.join(work, "daemon.log")) as f:
        print(f.read()[-4000:], file=sys.stderr)
    print(f"screenshots in {screenshots}", file=sys.stderr)
    raise
finally:
    if driver:
        driver.quit()
    for child in children:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
