"""Load HTML files from disk in headless Chromium, network blocked, and report what a reader sees.

    with Browser() as browser:                      # one browser process for many pages
        page = browser.check(Path("report.html"), screenshot=Path("report.png"))
        assert page.problems() == []

The browser is Debian's `chromium` (or `$JAKISURVEY_CHROMIUM`, or Chrome), driven over the
DevTools protocol through `--remote-debugging-pipe`: no extra Python package, no port opened.
It runs with a new empty profile and the flags that keep it off the network; on top of that
every request whose URL is not file:, data:, blob: or about: is failed by the Fetch domain
before it leaves the browser, and recorded. `missing_browser()` says why no browser can run
here; pass it to `outputcheck.require(..., REQUIRE_ENV)`, which skips the test, or fails it when
JAKISURVEY_REQUIRE_TOOLS=1 (CI).

A page is checked once it has fired `load` and every <img> has loaded or failed (lazy images
are made eager first); `check_all` loads several pages side by side, each in its own tab. The result (`PageCheck`) holds console errors, uncaught exceptions,
non-local requests, every image with its natural size (0 = not decoded), every internal
`#id` link and every link to a local file (existence, and the target id for a `#fragment`,
found by parsing that file), the visible text, every table and figure, and the screenshot.

`Browser(axe=find_axe())` also runs the axe-core accessibility engine (npm package `axe-core`,
its `axe.min.js` injected into each page after it loaded; nothing is fetched) with its default
rules (WCAG 2 A and AA and best practices) and keeps every violation in `PageCheck.violations`.
`missing_axe()` says why it cannot run here (pass it to `outputcheck.require`).
"""

from __future__ import annotations

import base64
import fcntl
import html.parser
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

REQUIRE_ENV = "JAKISURVEY_REQUIRE_TOOLS"
# Where .ci/run installs axe-core (npm install --prefix), unless $JAKISURVEY_AXE names axe.min.js.
AXE_PREFIX = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jakisurvey-npm"
AXE_FILE = Path("node_modules") / "axe-core" / "axe.min.js"
RUN_AXE = """axe.run(document, {resultTypes: ['violations']}).then(result =>
  result.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.html.slice(0, 160))})))"""
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_SCHEMES = ("file", "data", "blob", "about")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
    "--mute-audio", "--hide-scrollbars", "--window-size=1280,900",
    "--host-resolver-rules=MAP * ~NOTFOUND",   # a second wall: no name resolves
)
WAIT_FOR_IMAGES = """Promise.all([...document.images].map(img => {
  img.loading = 'eager';
  return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
})).then(() => document.fonts.ready).then(() => true)"""
COLLECT = """(() => {
  const image = img => ({src: img.currentSrc || img.getAttribute('src') || '',
                         width: img.naturalWidth, height: img.naturalHeight});
  const found = fragment => {
    const id = decodeURIComponent(fragment);
    return id === '' || id.toLowerCase() === 'top' || document.getElementById(id) !== null
           || document.getElementsByName(id).length > 0;
  };
  const anchors = [...document.querySelectorAll('a[href], area[href]')];
  return {
    text: document.body ? document.body.innerText : '',
    images: [...document.images].map(image),
    internal: anchors.filter(a => a.getAttribute('href').startsWith('#'))
                     .map(a => [a.getAttribute('href'), found(a.getAttribute('href').slice(1))]),
    external: anchors.filter(a => !a.getAttribute('href').startsWith('#'))
                     .map(a => [a.getAttribute('href'), a.href]),
    tables: [...document.querySelectorAll('table')].map(t =>
      [...t.rows].map(row => [...row.cells].map(cell => cell.innerText.trim()))),
    figures: [...document.querySelectorAll('figure')].map(f => ({
      caption: (f.querySelector('figcaption') || {innerText: ''}).innerText.trim(),
      images: [...f.querySelectorAll('img')].map(image)})),
  };
})()"""


class BrowserError(RuntimeError):
    """The browser could not be started or did not answer."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable: $JAKISURVEY_CHROMIUM, else the first one on PATH."""
    explicit = os.environ.get("JAKISURVEY_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def find_axe() -> Path | None:
    """axe-core's axe.min.js: $JAKISURVEY_AXE, else where .ci/run installs it."""
    explicit = os.environ.get("JAKISURVEY_AXE")
    path = Path(explicit) if explicit else AXE_PREFIX / AXE_FILE
    return path if path.is_file() else None


def missing_axe() -> str | None:
    """Why the accessibility checks cannot run here, or None when they can."""
    if find_axe() is None:
        return (f"axe-core not found ($JAKISURVEY_AXE, or `npm install --prefix {AXE_PREFIX} "
                "axe-core@4.14.1`)")
    return None


def missing_browser() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    if find_chromium() is None:
        return f"no Chromium found (looked for {', '.join(CANDIDATES)} on PATH, $JAKISURVEY_CHROMIUM)"
    return None


@dataclass(frozen=True)
class Image:
    """An <img> as decoded: natural size 0 x 0 means it did not load or decode."""

    src: str
    width: int
    height: int

    @property
    def decoded(self) -> bool:
        """True when the image has a non-zero natural size."""
        return self.width > 0 and self.height > 0


@dataclass(frozen=True)
class Link:
    """A link and whether what it points to exists."""

    href: str
    resolves: bool
    reason: str = ""


@dataclass(frozen=True)
class Violation:
    """An axe-core rule a page breaks: the rule, its impact, and the elements that break it."""

    rule: str
    impact: str
    help: str
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        return (f"{self.rule} ({self.impact}, {len(self.nodes)} nodes): {self.help}; "
                f"first: {self.nodes[0] if self.nodes else '-'}")


@dataclass(frozen=True)
class Figure:
    """A <figure>: its caption text and its images."""

    caption: str
    images: tuple[Image, ...]


@dataclass
class PageCheck:
    """What one HTML page did and showed in the browser."""

    path: Path
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    internal_links: list[Link] = field(default_factory=list)
    file_links: list[Link] = field(default_factory=list)
    text: str = ""
    tables: list[list[list[str]]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    screenshot: Path | None = None
    violations: list[Violation] | None = None   # None: axe-core did not run

    @property
    def violating_nodes(self) -> int:
        """How many elements break an accessibility rule, over all rules."""
        return sum(len(v.nodes) for v in self.violations or [])

    @property
    def captions(self) -> list[str]:
        """The caption of every figure, in page order."""
        return [figure.caption for figure in self.figures]

    def problems(self) -> list[str]:
        """One line per thing a reader would find broken; empty when the page is sound."""
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"uncaught exception: {m}" for m in self.exceptions]
                + [f"non-local request: {url}" for url in self.remote_requests]
                + [f"image not decoded: {_short(i.src)}" for i in self.images if not i.decoded]
                + [f"link to a missing anchor: {link.href}" for link in self.internal_links
                   if not link.resolves]
                + [f"broken link: {link.href} ({link.reason})" for link in self.file_links
                   if not link.resolves])


@dataclass
class _Tab:
    """A browser tab loading one page."""

    page: Path
    target: str
    session: str
    loader: str = ""


class Browser:
    """One headless Chromium process for many pages; each page is loaded in a new tab."""

    def __init__(self, executable: str | None = None, timeout: float = 20.0,
                 axe: Path | None = None) -> None:
        """Start the browser (`executable` defaults to `find_chromium()`); with `axe` (the path
        of axe.min.js) every page checked is also audited for accessibility."""
        executable = executable or find_chromium()
        if executable is None:
            raise BrowserError(missing_browser())
        self.timeout = timeout
        self._axe = axe.read_text(encoding="utf-8") if axe else None
        self._profile = tempfile.TemporaryDirectory(prefix="outputcheck-chromium-")
        self._ids: dict[Path, set[str]] = {}
        try:
            self._devtools = _DevTools.launch(executable, Path(self._profile.name))
        except BaseException:
            self._profile.cleanup()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        self._devtools.close()
        self._profile.cleanup()

    def check(self, page: Path, screenshot: Path | None = None) -> PageCheck:
        """Load `page` from disk, wait for it and its images, and report; save a PNG if asked."""
        return self.check_all([page], {page: screenshot} if screenshot else None)[0]

    def check_all(self, pages: list[Path], screenshots: dict[Path, Path] | None = None,
                  audit: set[Path] | None = None) -> list[PageCheck]:
        """Check several pages, loading them side by side in their own tabs (a report's handful);
        with axe-core, audit those in `audit` (all of them by default)."""
        missing = [page for page in pages if not page.is_file()]
        if missing:
            raise FileNotFoundError(f"no such page: {', '.join(map(str, missing))}")
        deadline, tabs = time.monotonic() + self.timeout, []
        try:
            for page in pages:
                tabs.append(self._open(page.resolve()))
            audited = {page.resolve() for page in (pages if audit is None else audit)}
            return [self._report(tab, (screenshots or {}).get(tab.page), deadline,
                                 tab.page in audited) for tab in tabs]
        finally:
            for tab in tabs:
                self._devtools.call("Target.closeTarget", {"targetId": tab.target})
                self._devtools.events.pop(tab.session, None)

    def _open(self, page: Path) -> _Tab:
        """A new tab, its events on and every request intercepted, navigating to `page`."""
        devtools = self._devtools
        target = devtools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = devtools.call("Target.attachToTarget",
                                {"targetId": target, "flatten": True})["sessionId"]
        tab = _Tab(page, target, session)
        devtools.events[session] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            devtools.call(f"{domain}.enable", session=session)
        devtools.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session)
        devtools.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session)
        navigated = devtools.call("Page.navigate", {"url": page.as_uri()}, session)
        if navigated.get("errorText"):
            raise BrowserError(f"cannot load {page}: {navigated['errorText']}")
        tab.loader = navigated["loaderId"]
        return tab

    def _report(self, tab: _Tab, screenshot: Path | None, deadline: float,
                audit: bool = True) -> PageCheck:
        """Wait for the tab's load event and images, then collect what it shows and did."""
        devtools = self._devtools
        devtools.wait_for(tab.session, deadline, f"the load event of {tab.page}", lambda event: (
            event["method"] == "Page.lifecycleEvent" and event["params"]["name"] == "load"
            and event["params"]["loaderId"] == tab.loader))
        devtools.evaluate(WAIT_FOR_IMAGES, tab.session, deadline)
        result = self._result(tab.page, devtools.evaluate(COLLECT, tab.session, deadline))
        if self._axe is not None and audit:
            devtools.evaluate(self._axe + "\n;true", tab.session, deadline)
            result.violations = [Violation(v["id"], v["impact"], v["help"], tuple(v["nodes"]))
                                 for v in devtools.evaluate(RUN_AXE, tab.session, deadline)]
        if screenshot is not None:
            result.screenshot = _save_screenshot(devtools, tab.session, screenshot)
        _add_events(result, devtools.events.get(tab.session, []))
        return result

    def _result(self, page: Path, found: dict) -> PageCheck:
        """A PageCheck from what the page script collected."""
        image = lambda i: Image(i["src"], int(i["width"]), int(i["height"]))  # noqa: E731
        return PageCheck(
            path=page, text=found["text"], tables=found["tables"],
            images=[image(i) for i in found["images"]],
            internal_links=[Link(href, ok) for href, ok in found["internal"]],
            file_links=[self._file_link(href, url) for href, url in found["external"]
                        if urlsplit(url).scheme == "file"],
            figures=[Figure(f["caption"], tuple(map(image, f["images"]))) for f in found["figures"]])

    def _file_link(self, href: str, url: str) -> Link:
        """Whether a link to a local file finds the file and, for a #fragment, the id in it."""
        parts = urlsplit(url)
        target = Path(unquote(parts.path))
        if not target.exists():
            return Link(href, False, f"no file {target}")
        if not parts.fragment or target.suffix.lower() not in (".html", ".htm"):
            return Link(href, True)
        if target not in self._ids:
            self._ids[target] = _ids_in(target)
        if unquote(parts.fragment) in self._ids[target]:
            return Link(href, True)
        return Link(href, False, f"no id {unquote(parts.fragment)!r} in {target.name}")


def _add_events(result: PageCheck, events: list[dict]) -> None:
    """Sort the page's DevTools events into console errors, exceptions and non-local requests."""
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            result.console_errors.append(" ".join(_describe(a) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            result.console_errors.append(f"{entry['text']} {entry.get('url', '')}".strip())
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            result.exceptions.append(details.get("exception", {}).get("description") or details["text"])
        elif method in ("Network.requestWillBeSent", "Fetch.requestPaused"):
            url = params["request"]["url"]
            if not _is_local(url) and url not in result.remote_requests:
                result.remote_requests.append(url)
        elif method == "Network.webSocketCreated" and params["url"] not in result.remote_requests:
            result.remote_requests.append(params["url"])


def _save_screenshot(devtools: _DevTools, session: str, path: Path) -> Path:
    """Write a full-page PNG of the page to `path` (a tab behind others paints no frames)."""
    devtools.call("Page.bringToFront", session=session)
    size = devtools.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = devtools.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                    "captureBeyondViewport": True,
                                                    "optimizeForSpeed": True}, session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


class _IdParser(html.parser.HTMLParser):
    """Collects every id (and <a name>) in an HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if v and (k == "id" or (k == "name" and tag == "a")))


def _ids_in(path: Path) -> set[str]:
    """The ids an HTML file defines (as written; scripts do not run)."""
    parser = _IdParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.ids


def _is_local(url: str) -> bool:
    """True for URLs that never leave the machine."""
    return urlsplit(url).scheme in LOCAL_SCHEMES


def _describe(value: dict) -> str:
    """A console argument as text."""
    return str(value.get("value", value.get("description", value.get("type", ""))))


def _short(text: str, limit: int = 80) -> str:
    """`text`, cut to `limit` characters (data: URIs are long)."""
    return text if len(text) <= limit else text[:limit] + "..."


class _DevTools:
    """The DevTools protocol over Chromium's pipe: JSON messages separated by NUL bytes."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int, log: Path) -> None:
        self.process, self._out, self._in, self._log = process, to_browser, from_browser, log
        self._buffer, self._next_id = b"", 0
        self._responses: dict[int, dict] = {}
        self._unanswered: set[int] = set()   # commands nobody waits for (Fetch decisions)
        self.events: dict[str, list[dict]] = {}   # by session, for the sessions being watched

    @classmethod
    def launch(cls, executable: str, profile: Path) -> _DevTools:
        """Start Chromium with the pipe on its fds 3 (commands in) and 4 (messages out)."""
        child_in, to_browser = os.pipe()
        from_browser, child_out = os.pipe()

        def wire() -> None:
            """In the child: move the pipe ends to fds 3 and 4, where Chromium expects them."""
            high_in = fcntl.fcntl(child_in, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(child_out, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        log = profile / "chromium.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [executable, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile / 'user'}",
                 "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                pass_fds=(3, 4), preexec_fn=wire)
        os.close(child_in)
        os.close(child_out)
        devtools = cls(process, to_browser, from_browser, log)
        devtools.call("Browser.getVersion")
        return devtools

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             deadline: float | None = None) -> dict:
        """Send one command and return its result."""
        message_id = self._send(method, params, session)
        deadline = deadline or time.monotonic() + 20
        while message_id not in self._responses:
            self._receive(deadline, f"an answer to {method}")
        response = self._responses.pop(message_id)
        if "error" in response:
            raise BrowserError(f"{method}: {response['error'].get('message')}")
        return response["result"]

    def evaluate(self, expression: str, session: str, deadline: float) -> object:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session, deadline)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, session: str, deadline: float, what: str,
                 matches: Callable[[dict], bool]) -> None:
        """Read messages until an event for `session` `matches` (`what` names it for errors)."""
        while not any(map(matches, self.events.get(session, []))):
            self._receive(deadline, what)

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not."""
        try:
            self._send("Browser.close", None, None)
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for fd in (self._out, self._in):
            os.close(fd)

    def _send(self, method: str, params: dict | None, session: str | None) -> int:
        """Write one command to the pipe; return its id."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, deadline: float, waiting_for: str) -> None:
        """Read one message: keep responses and events; answer blocked requests at once."""
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._in], [], [], remaining)[0]:
                raise BrowserError(f"timed out waiting for {waiting_for}")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError(f"the browser exited: {self._log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "id" in message:
            if message["id"] in self._unanswered:
                self._unanswered.discard(message["id"])
            else:
                self._responses[message["id"]] = message
            return
        session = message.get("sessionId")
        if session in self.events:
            self.events[session].append(message)
        if message["method"] == "Fetch.requestPaused":
            self._decide(message["params"], session)

    def _decide(self, request: dict, session: str | None) -> None:
        """Let local requests through; fail every other one before it leaves the browser."""
        if _is_local(request["request"]["url"]):
            sent = self._send("Fetch.continueRequest", {"requestId": request["requestId"]}, session)
        else:
            sent = self._send("Fetch.failRequest", {"requestId": request["requestId"],
                                                    "errorReason": "BlockedByClient"}, session)
        self._unanswered.add(sent)

    def _log_tail(self) -> str:
        """The last lines Chromium wrote to stderr."""
        return " | ".join(self._log.read_text(errors="replace").splitlines()[-5:])
