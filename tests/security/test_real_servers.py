"""Route protection on real servers: a signed-out or pending user never reaches a protected view.

Each deployment of ``_real_servers`` (uvicorn, hypercorn, waitress, gunicorn;
Starlette, FastAPI, Flask, plain WSGI; mounted, under a ``root_path``, a
``url_prefix`` or a ``SCRIPT_NAME``) serves an app of ``_real_apps`` written
as the docs show, with a public catch-all. A hostile corpus of request
targets and Host headers goes to each over a raw socket, and:

* a signed-out or pending request never gets ``PROTECTED-VIEW``, nor a 500
  (a same-origin redirect by the framework is followed once, with the same
  credentials, and held to the same rule);
* a signed-in request to each canonical protected path gets the view;
* whatever the credentials, a request the router sends to a protected view is
  one the route matcher matches, handed ``auth.request`` or the framework's
  request (the view says so), and nothing answers a 500 or crashes;
* public pages stay public;
* an invalid Host header is a 4xx, whatever the credentials.

A 500 that the app never produced (no ``x-app`` header) is the server's own
only where that was investigated: gunicorn answers a target outside its
``SCRIPT_NAME`` with a 500 "Bad Request" page before calling the app.

What each server did with each class of target (signed-out) is printed at the
end of the module (``-s``) and written to ``real-servers.md`` under pytest's
temporary directory; ``python -m tests.security.test_real_servers --report``
runs the corpus without pytest and prints the same tables as Markdown
(``--detail`` adds one row per target).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from clerk_middleware.testing import TestIssuer

from ..reliability._servers import RawResponse, raw_request
from . import _real_apps as apps
from ._real_servers import Deployment, deployments

# --- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A request target as sent on the request line, and the class it belongs to.

    The template may name the deployment's mount: ``{m}`` (``/v1`` for a
    mounted app, ``/app`` under a server prefix, else ``/v1``, a prefix the app
    does not have), ``{M}`` (the same upper-cased), ``{e}`` (percent-encoded).
    """

    kind: str
    template: bytes

    @property
    def label(self) -> str:
        return self.template.decode("latin-1").encode("unicode_escape").decode("ascii")

    def resolve(self, deployment: Deployment) -> bytes:
        mount = probe_mount(deployment)
        return (self.template.replace(b"{m}", mount.encode())
                .replace(b"{M}", mount.upper().encode())
                .replace(b"{e}", _encoded(mount).encode()))


def probe_mount(deployment: Deployment) -> str:
    """What ``{m}`` stands for in ``deployment``'s targets."""
    if deployment.app.endswith("-mount"):
        return apps.MOUNT
    return deployment.prefix or apps.MOUNT


def _encoded(mount: str) -> str:
    """``/v1`` as ``/%76%31``: every character after the slash percent-encoded."""
    return "/" + "".join(f"%{ord(c):02X}" for c in mount[1:])


def _kind(kind: str, *targets: str) -> tuple[Target, ...]:
    # Targets are written as latin-1 text so that raw bytes (\xff) can be spelled.
    return tuple(Target(kind, t.encode("latin-1")) for t in targets)


CANONICAL = "canonical"
PUBLIC = "public"

#: Targets relative to the app's root; ``CORPUS`` also has each under ``{m}``.
BASE_CORPUS: tuple[Target, ...] = (
    *_kind(CANONICAL, "/admin", "/admin/x", "/api/admin", "/api/admin/x", "/dash", "/dash/x",
           "/admin/", "/api/admin/", "/dash/", "/dash/x/y", "/adminx", "/admin?x=1"),
    *_kind(PUBLIC, "/", "/public", "/anything-else", "/public/", "/dashboard", "/api"),
    *_kind("encoded slash", "/api%2Fadmin", "/api%2fadmin", "/%2Fadmin", "/%2fadmin",
           "/admin%2F", "/admin%2Fx", "/%2Fapi%2Fadmin", "/dash%2Fx", "/dash%2fx",
           "/api%2Fadmin%2Fx", "/%2F%2Fadmin", "/public%2F..%2Fadmin", "/api%2F%2Fadmin",
           "/%2Fdash"),
    *_kind("multiple slashes", "//admin", "/api//admin", "///dash/x", "//api//admin",
           "/admin//x", "//dash", "/dash//x", "////admin", "//api/admin"),
    *_kind("dot segments", "/admin/..", "/admin/.", "/public/../admin", "/x/%2e%2e/admin",
           "/%2e/admin", "/admin/%2E%2E", "/.%2e/admin", "/./admin", "/x/../admin",
           "/public/../api/admin", "/x/..%2Fadmin", "/dash/x/../..", "/%2e%2e/dash/x",
           "/x/.%2E/dash", "/admin/..;/x", "/api/./admin", "/api/x/../admin", "/../admin",
           "/%2e%2e/admin", "/dash/.", "/api/admin/..", "/api/adminx/../x"),
    *_kind("parameters", "/admin;x", "/admin;/x", "/api;/admin", "/dash;x/y", "/;/admin",
           "/api/admin;jsessionid=1", "/dash;/x", "/api;x/admin"),
    *_kind("encoded letters, case", "/%61dmin", "/ADMIN", "/Admin", "/api/%41dmin",
           "/%64ash/x", "/api/%61%64%6d%69%6e", "/DASH/X", "/%61pi/admin", "/Api/Admin",
           "/%41DMIN/x"),
    *_kind("double encoding", "/%2561dmin", "/api%252Fadmin", "/%252Fadmin", "/dash%252Fx",
           "/%25%32%46admin", "/x/%252e%252e/admin"),
    *_kind("control characters, space", "/admin%00", "/admin%0A", "/admin%0D", "/admin%09",
           "/admin%20", "/%20/admin", "/%00/admin", "/admin%0D%0AX:%20y", "/%0Aadmin",
           "/admin%7F", "/admin%1F", "/api/admin%00x", "/dash%0A/x", "/%09admin",
           "/admin%0C", "/api%20/admin"),
    *_kind("backslash", "/admin\\x", "/%5Cadmin", "/\\admin", "/api\\admin", "/api%5Cadmin",
           "/dash\\x", "/\\\\admin", "/x\\..\\admin", "/%5C%5Cadmin"),
    *_kind("invalid UTF-8", "/admin%FF", "/%C0%AFadmin", "/%C0%AE%C0%AE/admin", "/admin%80",
           "/api%C0%AFadmin", "/%ED%A0%80admin", "/dash%FF/x", "/%E0%80%AFadmin",
           "/api%C0%AF%C0%AEadmin"),
    *_kind("unicode", "/admi%C5%84", "/%EF%BD%81dmin", "/admin%E2%80%8B", "/adm%C4%B1n",
           "/ADM%C4%B0N", "/dash/%E2%80%AE", "/%EF%BC%8Fadmin", "/api%E2%88%95admin",
           "/%E2%80%8Badmin"),
    *_kind("raw bytes", "/admin\xff", "/admi\xc5\x84", "/api\x7fadmin", "/dash/\x80"),
    *_kind("absolute form", "http://127.0.0.1/admin", "http://evil.example/admin",
           "//evil.example/admin", "http://127.0.0.1/api%2Fadmin", "http://127.0.0.1//admin",
           "HTTP://127.0.0.1/admin", "http://x@127.0.0.1/admin", "http://127.0.0.1:1/dash/x",
           "https://evil.example/admin", "http://127.0.0.1/public/../admin",
           "http://127.0.0.1", "http://127.0.0.1?/admin", "http://evil.example#/admin",
           "*", "127.0.0.1:80", "admin", "http:/admin", "http://[::1]/admin"),
    *_kind("encoded ? # ;", "/admin%3Fx", "/admin%23", "/api/admin%3F", "/dash%3F/x",
           "/admin%3Bx", "/%3F/admin", "/api%23/admin", "/admin?x=/public", "/public?/admin",
           "/public#/admin", "/admin#x", "/dash%23/x", "/api%3Badmin"),
)

#: Targets that only mean something under a mount.
MOUNT_CORPUS: tuple[Target, ...] = _kind(
    "mounted",
    "{m}/admin", "{m}%2Fadmin", "{m}%2fapi%2fadmin", "{m}//admin", "/{m}/admin", "/{m}//admin",
    "{M}/admin", "{m}/./admin", "{m}/x/../admin", "{m}/%2e%2e{m}/admin", "{m};/admin",
    "{m}\\admin", "{m}%5Cadmin", "{m}/..{m}/admin", "{m}%2F..%2F{m}/admin", "{m}{m}/admin",
    "{m}%20/admin", "{m}%00/admin", "{m}%2F", "{m}", "{m}/", "{e}/admin", "{m}x/admin",
    "/x/..{m}/admin", "http://127.0.0.1{m}/admin", "http://127.0.0.1{m}%2Fadmin",
    "{m}%2Fdash%2Fx", "{m}/api%2Fadmin", "{m}%3B/admin", "{m}%2e/admin",
)


def _prefixed(raw: bytes, mount: bytes) -> bytes | None:
    """``raw`` with ``mount`` put before its path, or None if it has no path to put it on."""
    if raw.startswith(b"/"):
        return mount + raw
    scheme, sep, rest = raw.partition(b"://")
    if sep and scheme.isalpha():
        authority_end = len(rest)
        for delimiter in (b"/", b"?", b"#"):
            index = rest.find(delimiter)
            if index != -1:
                authority_end = min(authority_end, index)
        return scheme + sep + rest[:authority_end] + mount + rest[authority_end:]
    return None


def _corpus() -> tuple[Target, ...]:
    """The base corpus, the same under ``{m}``, and the mount corpus (each target once)."""
    targets: dict[bytes, Target] = {t.template: t for t in BASE_CORPUS}
    for target in BASE_CORPUS:
        raw = _prefixed(target.template, b"{m}")
        if raw is not None:
            targets.setdefault(raw, Target(target.kind, raw))
    for target in MOUNT_CORPUS:
        targets.setdefault(target.template, target)
    return tuple(targets.values())


#: Every target every deployment is sent.
CORPUS = _corpus()


@dataclass(frozen=True)
class HostCase:
    """Host / X-Forwarded-Host header lines, and what the Host is.

    ``invalid``: not a ``host[:port]`` (or two Host fields): the answer must be a 4xx.
    Otherwise a valid Host must let a signed-in user in and the public pages
    answer, while an odd one (empty, missing, huge) and any ``X-Forwarded-Host``
    are only held to "never the protected view for signed-out, never a 500".
    """

    name: str
    lines: tuple[str, ...]
    invalid: bool = False
    valid: bool = False

    @property
    def kind(self) -> str:
        if any(line.lower().startswith("x-forwarded-host") for line in self.lines):
            return "X-Forwarded-Host"
        return "Host invalid" if self.invalid else "Host valid" if self.valid else "Host odd"


def _host(name: str, value: str, **flags: bool) -> HostCase:
    return HostCase(name, (f"Host: {value}",), **flags)


def _forwarded(name: str, value: str) -> HostCase:
    return HostCase(f"xfh {name}", ("Host: {here}", f"X-Forwarded-Host: {value}"))


HOST_CORPUS: tuple[HostCase, ...] = (
    _host("server address", "{here}", valid=True),
    _host("name", "app.test", valid=True),
    _host("name with port", "localhost:8000", valid=True),
    _host("ipv6 with port", "[::1]:8000", valid=True),
    _host("mixed case", "APP.Test", valid=True),
    _host("ipv4", "127.0.0.1", valid=True),
    _host("query", "x?", invalid=True),
    _host("fragment", "x#", invalid=True),
    _host("path", "x/p", invalid=True),
    _host("protected path", "x/admin", invalid=True),
    _host("query then path", "x?/admin", invalid=True),
    _host("userinfo", "x@y", invalid=True),
    _host("bad port", "x:notaport", invalid=True),
    _host("two ports", "x:80:80", invalid=True),
    _host("open bracket", "[::1", invalid=True),
    _host("junk after bracket", "[::1]x", invalid=True),
    _host("backslash", "x\\y", invalid=True),
    _host("space", "x y", invalid=True),
    _host("percent", "x%2Fadmin", invalid=True),
    HostCase("two hosts", ("Host: {here}", "Host: evil.example"), invalid=True),
    HostCase("two hosts, second bad", ("Host: {here}", "Host: x?"), invalid=True),
    _host("empty", ""),
    HostCase("missing", ()),
    _host("long", "a" * 4000),
    _host("long labels", ".".join(["b" * 63] * 40)),
    _host("empty port", "x:"),
    _forwarded("query", "evil?"),
    _forwarded("path", "a/b"),
    _forwarded("protected path", "evil/admin"),
    _forwarded("fragment", "evil#"),
    _forwarded("userinfo", "evil@x"),
    _forwarded("bad port", "evil:bad"),
    _forwarded("open bracket", "[::1"),
    _forwarded("name", "evil.example"),
    _forwarded("list", "evil.example, {here}"),
    _forwarded("list, first bad", "evil?, {here}"),
)

# --- credentials ------------------------------------------------------------------------------

PAGE = ("Sec-Fetch-Dest: document", "Accept: text/html")
API = ("Accept: application/json",)


@dataclass(frozen=True)
class Credentials:
    """Header lines a request carries."""

    name: str
    lines: tuple[str, ...]


def credentials_of(issuer: TestIssuer) -> dict[str, Credentials]:
    """The credentials the tests send, minted by ``issuer`` (tokens valid for an hour)."""
    # __client_uat before minting: a token issued before it is outdated (a handshake),
    # so reading the clock after the tokens fails whenever a second ticks in between.
    iat = int(issuer.clock())
    active = issuer.session_token(lifetime=3600)
    pending = issuer.pending_token(lifetime=3600)
    found = (
        Credentials("signed-out", PAGE),
        Credentials("pending bearer", (f"Authorization: Bearer {pending}", *API)),
        Credentials("pending cookie",
                    (f"Cookie: __session={pending}; __client_uat={iat}", *PAGE)),
        Credentials("signed-in bearer", (f"Authorization: Bearer {active}", *API)),
        Credentials("signed-in cookie",
                    (f"Cookie: __session={active}; __client_uat={iat}", *PAGE)),
    )
    return {c.name: c for c in found}


REFUSED = ("signed-out", "pending bearer", "pending cookie")
ADMITTED = ("signed-in bearer", "signed-in cookie")


def make_issuer() -> TestIssuer:
    """A production instance (no dev-browser handshakes) on the real clock, as servers in
    child processes have no other."""
    return TestIssuer("clerk.example.com", production=True)


def settings_of(issuer: TestIssuer) -> dict[str, Any]:
    """``clerk_middleware`` settings for ``issuer`` (JSON-serialisable: children get them)."""
    return {"secret_key": issuer.secret_key, "publishable_key": issuer.publishable_key,
            "jwt_key": issuer.jwt_key}


# --- probing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one request got: the answer, and the answer to the redirect followed from it."""

    status: int
    body: bytes
    reached: bool
    location: str | None
    followed: Outcome | None = None

    @property
    def view(self) -> str:
        if apps.PROTECTED_MARKER.encode() in self.body:
            return "PROTECTED"
        if apps.CRASH_MARKER.encode() in self.body:
            return "CRASH"
        if apps.PUBLIC_MARKER.encode() in self.body:
            return "public"
        if self.body.startswith(apps.CATCHALL_MARKER.encode()):
            return "catch-all"
        return ""

    def chain(self) -> Iterator[Outcome]:
        yield self
        if self.followed is not None:
            yield from self.followed.chain()

    def summary(self) -> str:
        """Short and stable: ``307``, ``200 CA``, ``400s`` (the server's own), ``308→200 pub``."""
        if not self.status:
            return "closed"
        text = str(self.status)
        text += {"PROTECTED": " PROTECTED", "CRASH": " CRASH", "public": " pub",
                 "catch-all": " CA"}.get(self.view, "")
        if not self.reached:
            text += "s"
        if self.followed is not None:
            text += "→" + self.followed.summary()
        return text


@dataclass
class Live:
    """A running deployment."""

    deployment: Deployment
    url: str
    credentials: Mapping[str, Credentials]

    @property
    def here(self) -> str:
        return self.url.removeprefix("http://")


def _head(target: bytes, lines: Iterable[str]) -> bytes:
    return b"\r\n".join([b"GET " + target + b" HTTP/1.1",
                         *(line.encode("latin-1") for line in lines)])


def probe(live: Live, target: bytes, credentials: Credentials,
          host_lines: Sequence[str] | None = None, *, follow: bool = True) -> Outcome:
    """Send one request (and follow a same-origin redirect once, with the same credentials)."""
    hosts = ["Host: {here}"] if host_lines is None else list(host_lines)
    lines = [line.replace("{here}", live.here) for line in hosts] + list(credentials.lines)
    response = raw_request(live.url, _head(target, lines))
    outcome = _outcome(response)
    if follow and outcome.location is not None and 300 <= outcome.status < 400:
        next_target = _same_origin_target(outcome.location, live.here)
        if next_target is not None:
            followed = probe(live, next_target, credentials, host_lines, follow=False)
            outcome = Outcome(outcome.status, outcome.body, outcome.reached, outcome.location,
                              followed)
    return outcome


def _outcome(response: RawResponse) -> Outcome:
    locations = response.values(b"location")
    return Outcome(response.status, response.body,
                   bool(response.values(apps.WITNESS_HEADER.encode())),
                   locations[0].decode("latin-1") if locations else None)


def _same_origin_target(location: str, here: str) -> bytes | None:
    """The target to send for ``location`` if it points back at this server, else None."""
    if location.startswith("/") and not location.startswith("//"):
        return location.encode("latin-1")
    try:
        parts = urlsplit(location)
    except ValueError:
        return None
    if parts.scheme == "http" and parts.netloc == here:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return target.encode("latin-1")
    return None


def servers_own_refusal(deployment: Deployment, outcome: Outcome) -> bool:
    """Whether a 500 is gunicorn refusing a target outside ``SCRIPT_NAME`` (the app not called)."""
    return (deployment.server == "gunicorn" and bool(deployment.prefix) and not outcome.reached
            and b"Bad Request" in outcome.body)


#: What a protected view says when the route matcher protects the request it was routed.
BOTH_MATCH = b"auth.request=1 request=1"


def answer_problems(deployment: Deployment, outcome: Outcome) -> list[str]:
    """What is wrong with ``outcome`` as the answer to any request, signed in or not.

    Never a crash or a 500 (but gunicorn's own, see ``servers_own_refusal``), and
    a request the router sends to a protected view is one the route matcher
    matches, handed ``auth.request`` or the framework's request.
    """
    problems = []
    for step in outcome.chain():
        if step.view == "CRASH":
            problems.append("the app raised (APP-CRASH)")
        if step.status >= 500 and not servers_own_refusal(deployment, step):
            problems.append(f"answered {step.status}: {step.body[:200]!r}")
        if step.view == "PROTECTED" and BOTH_MATCH not in step.body:
            problems.append(f"routed to a protected view the matcher does not protect: "
                            f"{step.body[:200]!r}")
    return problems


def refusal_problems(deployment: Deployment, outcome: Outcome) -> list[str]:
    """What is wrong with ``outcome`` as the answer to a signed-out or pending request."""
    problems = [f"reached the protected view ({step.status})"
                for step in outcome.chain() if step.view == "PROTECTED"]
    return problems + answer_problems(deployment, outcome)


# --- the report -------------------------------------------------------------------------------


@dataclass
class Report:
    """Signed-out outcomes by deployment, class and target; Markdown tables of them."""

    rows: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def record(self, deployment: Deployment, kind: str, label: str, outcome: Outcome) -> None:
        self.rows[(deployment.name, kind, label)] = outcome.summary()

    def markdown(self, *, detail: bool = False) -> str:
        order = {d.name: i for i, d in enumerate(deployments())}
        kinds = list(dict.fromkeys(k for _, k, _ in sorted(
            self.rows, key=lambda key: _kind_order(key[1]))))
        by_server: dict[str, list[Deployment]] = {}
        for deployment in deployments():
            if any(name == deployment.name for name, _, _ in self.rows):
                by_server.setdefault(deployment.server, []).append(deployment)
        out = [
            "What each server did with each class of target, for a signed-out request",
            "(count of each answer; a class counts its targets at the root and under the",
            "deployment's mount or prefix). `CA`: the public catch-all view; `pub`: a public view;",
            "`PROTECTED`: the protected view (a failure); `s`: the server's own answer",
            "(the app was not called); `→`: the same-origin redirect followed once;",
            "`closed`: no answer.",
            "",
        ]
        for server, group in by_server.items():
            names = [d.name for d in sorted(group, key=lambda d: order[d.name])]
            short = [n.removeprefix(server + " ") for n in names]
            out += [f"### {server}", "", "| class | " + " | ".join(short) + " |",
                    "|---" * (len(names) + 1) + "|"]
            for kind in kinds:
                cells = []
                for name in names:
                    counts = Counter(v for (n, k, _), v in self.rows.items()
                                     if n == name and k == kind)
                    cells.append(" ".join(f"{s}\N{MULTIPLICATION SIGN}{c}" for s, c in sorted(
                        counts.items(), key=lambda item: (-item[1], item[0]))) or "—")
                out.append(f"| {kind} | " + " | ".join(cells) + " |")
            out.append("")
            if detail:
                labels = list(dict.fromkeys((k, t) for (n, k, t) in self.rows if n in names))
                out += ["| target | " + " | ".join(short) + " |",
                        "|---" * (len(names) + 1) + "|"]
                for kind, label in sorted(labels, key=lambda kl: _kind_order(kl[0])):
                    cells = [self.rows.get((n, kind, label), "—") for n in names]
                    shown = label.replace("|", "\\|")
                    out.append(f"| {kind}: `{shown}` | " + " | ".join(cells) + " |")
                out.append("")
        return "\n".join(out)


def _kind_order(kind: str) -> int:
    known = [t.kind for t in CORPUS] + [h.kind for h in HOST_CORPUS]
    return list(dict.fromkeys(known)).index(kind)


def run_corpus(live: Live, report: Report) -> list[str]:
    """Send the whole corpus to ``live`` as the tests do; returns the problems found."""
    problems = []
    for target in CORPUS:
        problems += [f"{live.deployment.name} {target.label} {p}"
                     for p in check_target(live, target, report)]
    for path in apps.PROTECTED_PATHS:
        problems += [f"{live.deployment.name} {path} {p}" for p in check_signed_in(live, path)]
    for path in apps.PUBLIC_PATHS:
        problems += [f"{live.deployment.name} {path} {p}" for p in check_public(live, path)]
    for case in HOST_CORPUS:
        problems += [f"{live.deployment.name} Host {case.name}: {p}"
                     for p in check_host(live, case, report)]
    return problems


def check_target(live: Live, target: Target, report: Report) -> list[str]:
    """Signed-out and pending requests for ``target``: never the view, never a 500; a
    signed-in one (the cookie flow, which reads the most of a request): never a 500."""
    problems = []
    for name in (*REFUSED, "signed-in cookie"):
        outcome = probe(live, target.resolve(live.deployment), live.credentials[name])
        if name == "signed-out":
            report.record(live.deployment, target.kind, target.label, outcome)
        found = (refusal_problems if name in REFUSED else answer_problems)(live.deployment, outcome)
        problems += [f"{name}: {p}" for p in found]
    return problems


def check_signed_in(live: Live, path: str) -> list[str]:
    """Signed-in requests for ``path`` under each mount that reaches it: the view."""
    problems = []
    for mount in live.deployment.mounts:
        for name in ADMITTED:
            outcome = probe(live, (mount + path).encode(), live.credentials[name])
            if not (outcome.status == 200 and outcome.view == "PROTECTED"):
                problems.append(f"{mount}{path} {name}: {outcome.summary()} "
                                f"{outcome.body[:200]!r}")
            problems += [f"{mount}{path} {name}: {p}"
                         for p in answer_problems(live.deployment, outcome)]
    return problems


def check_public(live: Live, path: str) -> list[str]:
    """A signed-out request for a public ``path`` (at each root that has it): 200."""
    problems = []
    roots = ("",) if live.deployment.app.endswith("-mount") else live.deployment.mounts
    for root in roots:
        target = (root + path) or "/"
        outcome = probe(live, target.encode(), live.credentials["signed-out"])
        if not (outcome.status == 200 and outcome.view in ("public", "catch-all")):
            problems.append(f"{target}: {outcome.summary()} {outcome.body[:200]!r}")
    return problems


def host_targets(deployment: Deployment) -> tuple[str, str, str]:
    """A protected target, a deeper one and a public one, for the Host corpus."""
    mount = deployment.mounts[-1]  # the inner app of a mount: the outer one has no middleware
    return (mount + "/admin", mount + "/api/admin/x", mount + "/public")


def check_host(live: Live, case: HostCase, report: Report) -> list[str]:
    """The Host corpus: never the view for signed-out or pending, never a 500; an invalid
    Host is a 4xx; a valid one lets the signed-in user in and shows the public page."""
    deployment = live.deployment
    problems = []
    protected, _, public = targets = host_targets(deployment)
    for target in targets:
        for name in (*REFUSED[:2], ADMITTED[0]):
            outcome = probe(live, target.encode(), live.credentials[name], case.lines)
            if name == "signed-out" and target == protected:
                report.record(deployment, case.kind, case.name, outcome)
            if name in REFUSED:
                found = refusal_problems(deployment, outcome)
            else:
                found = answer_problems(deployment, outcome)
            if case.invalid and not 400 <= outcome.status < 500:
                found.append(f"an invalid Host answered {outcome.summary()}, not a 4xx")
            if case.valid and target == public:
                if not (outcome.status == 200 and outcome.view == "public"):
                    found.append(f"{outcome.summary()}, not the public view")
            elif case.valid and name in ADMITTED and not (
                    outcome.status == 200 and outcome.view == "PROTECTED"):
                found.append(f"{outcome.summary()}, not the protected view")
            problems += [f"{target} {name}: {p}" for p in found]
    return problems


# --- the tests --------------------------------------------------------------------------------

ALL = deployments()


def _id(value: object) -> str:
    if isinstance(value, Deployment):
        return value.name
    if isinstance(value, Target):
        return f"{value.kind}:{value.label}"
    if isinstance(value, HostCase):
        return value.name
    return str(value)


@pytest.fixture(scope="module")
def real_issuer() -> TestIssuer:
    return make_issuer()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    collected = Report()
    yield collected
    text = collected.markdown()
    path = tmp_path_factory.mktemp("report") / "real-servers.md"
    path.write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}\n(written to {path})")


@pytest.fixture(scope="module", params=ALL, ids=_id)
def live(request: pytest.FixtureRequest, real_issuer: TestIssuer) -> Iterator[Live]:
    deployment: Deployment = request.param
    with deployment.serve(settings_of(real_issuer)) as url:
        yield Live(deployment, url, credentials_of(real_issuer))


@pytest.mark.parametrize("target", CORPUS, ids=_id)
def test_signed_out_and_pending_never_reach_a_protected_view(
    live: Live, target: Target, report: Report
) -> None:
    problems = check_target(live, target, report)
    assert not problems, problems


@pytest.mark.parametrize("path", apps.PROTECTED_PATHS)
def test_signed_in_reaches_the_protected_view(live: Live, path: str) -> None:
    problems = check_signed_in(live, path)
    assert not problems, problems


@pytest.mark.parametrize("path", apps.PUBLIC_PATHS)
def test_public_pages_stay_public(live: Live, path: str) -> None:
    problems = check_public(live, path)
    assert not problems, problems


@pytest.mark.parametrize("case", HOST_CORPUS, ids=_id)
def test_host_headers(live: Live, case: HostCase, report: Report) -> None:
    problems = check_host(live, case, report)
    assert not problems, problems


# --- script mode ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.security.test_real_servers --report [--detail]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--report", action="store_true", required=True,
                        help="run the corpus against every deployment, print Markdown tables")
    parser.add_argument("--detail", action="store_true", help="also one row per target")
    parser.add_argument("--only", default="", help="only deployments whose name contains this")
    args = parser.parse_args(argv)
    issuer = make_issuer()
    report = Report()
    problems: list[str] = []
    for deployment in deployments():
        if args.only not in deployment.name:
            continue
        with deployment.serve(settings_of(issuer)) as url:
            problems += run_corpus(Live(deployment, url, credentials_of(issuer)), report)
    print(report.markdown(detail=args.detail))
    if problems:
        print(f"\n{len(problems)} problems:")
        for problem in problems:
            print(f"- {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
