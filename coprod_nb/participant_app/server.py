"""The participant app's Voilà server, with a gate before any kernel starts.

``serve-workshop`` runs ``python -m coprod_nb.participant_app.server`` (a Voilà
application with three changes) instead of plain ``voila``:

- **No kernel without a valid key.** Voilà's ``prelaunch_hook`` runs before it starts
  a kernel; :class:`KeyGate` checks the link's ``?key=`` against the stored hashes (one
  read-only query) and answers 403 with a small page when the key is missing, unknown,
  revoked or of another workshop, so a wrong visit costs a query, not a kernel.
- **Bad keys are rate-limited** per client address (:class:`TokenBucket`): after
  ``burst`` bad keys, that address gets 429 for every key, valid or not (so the limit is
  no oracle either), until the bucket refills at one key per ``refill`` seconds.
  Behind a proxy on the same machine (JupyterHub, nginx) every visit comes from the
  proxy's address; with ``trust_xheaders`` (``serve-workshop --behind-proxy``) the
  client address is the one the proxy reports (``X-Real-Ip`` / ``X-Forwarded-For``, as
  tornado reads them), so one stranger's bad keys hold back only that stranger.
- **One kernel per link** (:class:`LinkKernelManager`): a second page opened on the
  same link (a reload, another device) replaces the first page's kernel; the newest page
  wins, so a participant is never locked out by a page they left open. Idle kernels
  whose page is gone are culled by jupyter-server's culler (``cull_idle_timeout``, set
  by :func:`coprod_nb.participant_app.serve.voila_command`).

The page itself is rendered with the ``coprod`` template (``templates/``): Voilà's lab
template without the stylesheets it loads from a CDN (Voilà bundles the icon font).
"""

from __future__ import annotations

import html
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import Finish
from traitlets import Bool, Float, Integer
from voila.app import Voila

from coprod_nb.errors import CoprodError, Forbidden
from coprod_nb.participant_app import key_from_query
from coprod_nb.storage.workshop import token_hash

__all__ = ["KeyGate", "LinkKernelManager", "ParticipantVoila", "TokenBucket", "main"]

#: The template folder whose ``index.html.j2`` renders the app's page.
TEMPLATE_DIR = Path(__file__).resolve().with_name("templates")


class TokenBucket:
    """Per-address token buckets: ``burst`` tokens, one more every ``refill`` seconds.

    Hand-written: a dozen lines in memory inside the one server process; the rate-limit
    libraries on PyPI target other frameworks or a shared store (Redis), which a
    one-machine workshop server does not need.
    """

    def __init__(
        self, burst: int = 10, refill: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self.burst, self.refill, self.clock = burst, refill, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)
        self._lock = threading.Lock()

    def _level(self, address: str, now: float) -> float:
        tokens, when = self._buckets.get(address, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - when) / self.refill)

    def allows(self, address: str) -> bool:
        """Whether ``address`` has a token left (taking none)."""
        with self._lock:
            return self._level(address, self.clock()) >= 1

    def take(self, address: str) -> None:
        """Spend one token of ``address`` (a bad key)."""
        with self._lock:
            now = self.clock()
            self._buckets[address] = (max(0.0, self._level(address, now) - 1), now)
            if len(self._buckets) > 10_000:  # forget addresses whose bucket is full again
                full = [a for a in self._buckets if self._level(a, now) >= self.burst]
                for a in full:
                    del self._buckets[a]

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` has a token again."""
        with self._lock:
            missing = 1 - self._level(address, self.clock())
        return max(1, int(missing * self.refill + 0.999))


def refusal_page(title: str, text: str) -> str:
    """A small self-contained HTML page (no script, nothing from any other address)."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em}"
        "</style></head><body><div class='cp-participant-app'>"
        f"<h1>{html.escape(title)}</h1><p class='cp-participant-refused'>{html.escape(text)}</p>"
        "</div></body></html>"
    )


class KeyGate:
    """Voilà's ``prelaunch_hook``: refuse a visit before its kernel starts.

    Parameters
    ----------
    store : Store
        The study, opened once for the server's life (reads only).
    workshop : int, optional
        Accept only keys of this workshop.
    bucket : TokenBucket
        The bad-key budget of each client address.
    """

    def __init__(self, store, workshop: int | None, bucket: TokenBucket):
        self.store, self.workshop, self.bucket = store, workshop, bucket
        #: how many visits were refused, by status (for the server's log and tests)
        self.refused: dict[int, int] = {}

    def __call__(self, req, notebook=None, cwd=None):
        address = req.request.remote_ip or "?"
        if not self.bucket.allows(address):
            req.set_header("Retry-After", str(self.bucket.retry_after(address)))
            self._refuse(
                req,
                429,
                "Too many wrong links from your address. Wait a few minutes, then open the "
                "personal link the facilitator sent you.",
            )
        key = key_from_query(req.request.query)
        try:
            self.store.participant_for_token(key, self.workshop)
        except Forbidden as exc:
            self.bucket.take(address)
            self._refuse(req, 403, f"Sorry: {exc}.")
        except CoprodError as exc:
            print(f"coprod-nb participant app: {exc}", file=sys.stderr)
            self._refuse(req, 503, "The workshop app is not ready. Please tell the facilitator.")
        return notebook

    def _refuse(self, req, status: int, text: str):
        self.refused[status] = self.refused.get(status, 0) + 1
        req.set_status(status)
        req.set_header("Content-Type", "text/html; charset=utf-8")
        req.set_header("Cache-Control", "no-store")
        # Finish ends the request here: Voilà never reaches its kernel start.
        raise Finish(refusal_page("Workshop", text))


class LinkKernelManager(AsyncMappingKernelManager):
    """At most one kernel per personal link: a new page on a link replaces the old one's."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._by_link: dict[str, str] = {}  # SHA-256 of the key -> kernel id

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        env = kwargs.get("env") or {}
        link = token_hash(key_from_query(env.get("QUERY_STRING")))
        old = self._by_link.pop(link, None)
        if old is not None and old in self:
            self.log.info("a new page on the same link: its earlier kernel %s stops", old)
            await self.shutdown_kernel(old, now=True)
        new = await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        self._by_link[link] = new
        return new

    def remove_kernel(self, kernel_id):
        for link, kid in list(self._by_link.items()):
            if kid == kernel_id:
                del self._by_link[link]
        return super().remove_kernel(kernel_id)


class ParticipantVoila(Voila):
    """Voilà with the key gate, one kernel per link and the CDN-free template."""

    name = "coprod-participant-app"
    bad_key_burst = Integer(10, config=True, help="Bad keys an address may try at once.")
    bad_key_refill = Float(60.0, config=True, help="Seconds for one more bad-key try.")
    trust_xheaders = Bool(
        False,
        config=True,
        help="Take the client address from the proxy's X-Real-Ip/X-Forwarded-For headers.",
    )

    def initialize(self, argv=None):
        super().initialize(argv)
        from coprod_nb.storage import Store

        study, url = os.environ.get("COPROD_STUDY"), os.environ.get("COPROD_DB") or None
        workshop = os.environ.get("COPROD_WORKSHOP")
        if not study:
            raise SystemExit("error: COPROD_STUDY is not set: start the app with serve-workshop")
        try:
            self.store = Store(study, url, actor="participant app", create=False)
        except CoprodError as exc:
            raise SystemExit(f"error: {exc}") from exc
        ref = int(workshop) if workshop and workshop.isdigit() else None
        self.gate = KeyGate(self.store, ref, TokenBucket(self.bad_key_burst, self.bad_key_refill))
        self.voila_configuration.prelaunch_hook = self.gate
        self.voila_configuration.multi_kernel_manager_class = LinkKernelManager

    def listen(self):
        if self.trust_xheaders:
            # tornado's own reading of the proxy headers (HTTPServer(xheaders=True)); only
            # meaningful when the proxy is the one way in, hence loopback only (serve.py).
            listen = self.app.listen
            self.app.listen = lambda port, address="", **kw: listen(
                port, address, xheaders=True, **kw
            )
        super().listen()

    def setup_template_dirs(self):
        super().setup_template_dirs()
        # Ours first: its index.html.j2 extends Voilà's lab template by its full path.
        self.template_paths.insert(0, str(TEMPLATE_DIR))


def main(argv: list[str] | None = None) -> None:
    """Run the server (``python -m coprod_nb.participant_app.server NOTEBOOK ...``)."""
    ParticipantVoila.launch_instance(argv)


if __name__ == "__main__":
    main()
