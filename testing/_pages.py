"""The local instance's face: a sign-in page and the "choose an organization" task page.

Every ``LocalInstance`` serves these pages (``add_route`` replaces any of them):

- ``GET /sign-in`` (also ``/sign-up`` and ``/sign-in/create``, where Clerk's
  redirects send sign-ups): pick a user, or create one.
- ``POST`` to the same paths: sign the browser in, then go back (303) to ``redirect_url``.
- ``GET /sign-in/tasks`` (also ``/sign-up/tasks``, ``/sign-in/create/tasks``
  and ``.../tasks/choose-organization``): the "choose an organization" task
  of a pending session; this is where ``protect()`` sends pending users.
- ``POST`` to the same paths: choose an organization or create one; the session
  becomes active (its next token has ``sts: "active"`` and the ``o`` claim).
- ``GET``/``POST /sign-out``: sign the browser out, then go back to ``redirect_url``.

The browser is named by the instance's ``__client`` cookie. On a development
instance the dev browser (``__clerk_db_jwt``, in the query as the SDK's
cross-origin redirects add it, or in the cookie) names it too.

Who must choose an organization: a user signs straight into their last active
organization when they have one; otherwise into their personal account when
the instance allows personal accounts; otherwise the new session is
``pending`` with the ``choose-organization`` task.

How the app learns about the change, through the SDK's ordinary handshake:

- development: the way back carries ``__clerk_db_jwt=<dev browser>``, as the
  Account Portal of a development instance does, so the SDK answers with a
  ``dev-browser-sync`` handshake that fetches the new session token;
- production: the pages set ``__client_uat`` and clear ``__session`` on the
  shared host, as Clerk's Frontend API and clerk-js do on one site, so the
  app's next request is a ``client-uat-but-no-session-token`` handshake.

Either way, handshake parameters left in ``redirect_url`` (a production app
serves the page at the URL that carried the nonce) are dropped on the way back.

The pages are for development and tests: they ask for no password and use
no CSRF token; the instance listens on 127.0.0.1 only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._http import InstanceRequest, InstanceResponse, with_param

if TYPE_CHECKING:
    from ._instance import Client, LocalInstance, Organization, Session, User

__all__ = ["SIGN_IN_PATHS", "SIGN_OUT_PATH", "TASK_PATHS", "install_pages"]

#: Paths of the sign-in page (``<sign_in_url>/create`` is where Clerk sends sign-ups).
SIGN_IN_PATHS = ("/sign-in", "/sign-up", "/sign-in/create")
#: Paths of the "choose an organization" task page (``<sign-in>/tasks``, as Clerk redirects).
TASK_PATHS = (
    *(f"{path}/tasks" for path in SIGN_IN_PATHS),
    *(f"{path}/tasks/choose-organization" for path in SIGN_IN_PATHS),
)
SIGN_OUT_PATH = "/sign-out"

DEV_BROWSER = "__clerk_db_jwt"
# Left in the app's URL by a handshake that was already consumed (in production the SDK
# serves the page at that URL, so protect() puts it into redirect_url): never go back to it.
_HANDSHAKE_PARAMS = frozenset({"__clerk_handshake", "__clerk_handshake_nonce", "__clerk_help"})
_NO_STORE = (("cache-control", "no-store"),)
_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f4f8; color: #1f2430; margin: 0; }
main { max-width: 34rem; margin: 3rem auto; background: #fff; padding: 2rem 2.5rem;
       border-radius: 12px; box-shadow: 0 2px 12px rgba(0, 0, 0, .08); }
h1 { margin-top: 0; font-size: 1.6rem; }
h2 { font-size: 1.1rem; margin-top: 1.8rem; }
.muted { color: #6b7080; font-size: .85rem; }
ul { list-style: none; padding: 0; }
li { margin: .5rem 0; }
button { width: 100%; text-align: left; padding: .7rem 1rem; font: inherit; cursor: pointer;
         border: 1px solid #d4d6de; border-radius: 8px; background: #fafafc; }
button:hover { border-color: #6c47ff; }
button small { display: block; color: #6b7080; }
label { display: block; margin: .4rem 0; }
input[type=text], input[type=email] { width: 100%; padding: .5rem; font: inherit;
         border: 1px solid #d4d6de; border-radius: 6px; box-sizing: border-box; }
.error { color: #b00020; }
a { color: #6c47ff; }
"""


def install_pages(instance: LocalInstance) -> None:
    """Serve the sign-in, task and sign-out pages on ``instance``.

    Args:
        instance: The instance (running or not).
    """
    pages = _Pages(instance)
    for path in SIGN_IN_PATHS:
        instance.add_route("GET", path, pages.sign_in_page, name="sign-in")
        instance.add_route("POST", path, pages.sign_in, name="sign-in")
    for path in TASK_PATHS:
        instance.add_route("GET", path, pages.task_page, name="tasks")
        instance.add_route("POST", path, pages.complete_task, name="tasks")
    instance.add_route("GET", SIGN_OUT_PATH, pages.sign_out, name="sign-out")
    instance.add_route("POST", SIGN_OUT_PATH, pages.sign_out, name="sign-out")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(
    title: str, body: str, *, status: int = 200, headers: Sequence[tuple[str, str]] = ()
) -> InstanceResponse:
    text = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Local Clerk instance</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}<p class=muted>Local Clerk instance "
        "(<code>clerk_middleware.testing</code>), for development and tests only.</p>"
        "</main></body></html>\n"
    )
    return InstanceResponse.html(text, status, (*_NO_STORE, *headers))


def _absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _without_handshake(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in _HANDSHAKE_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _display_name(user: User) -> str:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name or user.email_address or user.id


class _Pages:
    """The route handlers, bound to one instance."""

    def __init__(self, instance: LocalInstance) -> None:
        self.instance = instance

    # -- what the request says

    def _param(self, request: InstanceRequest, name: str) -> str:
        if request.method == "POST":
            value = request.form().get(name)
            if value:
                return value
        return request.query.get(name, "")

    def _dev_browser(self, request: InstanceRequest) -> str:
        if not self.instance.development:
            return ""
        suffixed = f"{DEV_BROWSER}_{self.instance.cookie_suffix}"
        return (
            self._param(request, DEV_BROWSER)
            or request.cookies.get(suffixed, "")
            or request.cookies.get(DEV_BROWSER, "")
        )

    def _client(self, request: InstanceRequest) -> Client | None:
        """The browser's client: its ``__client`` cookie, else its dev browser's."""
        client = self.instance.client_from_cookies(request.cookies)
        if client is None:
            dev_browser = self._dev_browser(request)
            if dev_browser:
                client = self.instance.dev_browser_client(dev_browser)
        return client

    def _hidden(self, request: InstanceRequest) -> str:
        fields = [("redirect_url", self._param(request, "redirect_url"))]
        dev_browser = self._dev_browser(request)
        if dev_browser:
            fields.append((DEV_BROWSER, dev_browser))
        return "".join(
            f'<input type=hidden name="{_e(name)}" value="{_e(value)}">'
            for name, value in fields
            if value
        )

    def _query(self, request: InstanceRequest) -> str:
        """The query that carries ``redirect_url`` (and the dev browser) to another page."""
        fields = {"redirect_url": self._param(request, "redirect_url")}
        fields[DEV_BROWSER] = self._dev_browser(request)
        kept = {name: value for name, value in fields.items() if value}
        return f"?{urlencode(kept)}" if kept else ""

    # -- the way back to the app

    def _back(self, request: InstanceRequest, client_id: str, done: str) -> InstanceResponse:
        """303 to ``redirect_url`` so that the app's SDK picks the change up."""
        instance = self.instance
        headers: list[tuple[str, str]] = [("set-cookie", instance.client_cookie(client_id))]
        redirect_url = _without_handshake(self._param(request, "redirect_url"))
        if instance.development:
            dev_browser = self._dev_browser(request)
            if dev_browser and redirect_url:
                redirect_url = with_param(redirect_url, DEV_BROWSER, dev_browser)
        else:
            headers += [("set-cookie", value) for value in self._production_sync(client_id)]
        if not _absolute_http(redirect_url):
            body = f"<h1>{_e(done)}</h1><p>You can close this page and go back to the app.</p>"
            return _page(done, body, headers=headers)
        return InstanceResponse.redirect(redirect_url, 303, tuple(headers))

    def _production_sync(self, client_id: str) -> list[str]:
        """``__client_uat`` set and ``__session`` cleared, as FAPI and clerk-js leave a site."""
        instance = self.instance
        client = instance.client(client_id)
        if instance.active_session(client) is None:
            return instance.session_cookies(None, suffixed=True)
        suffix = instance.cookie_suffix
        attributes = "; Path=/; SameSite=Lax"
        return [
            *(
                f"{name}={client.updated_at}{attributes}; Max-Age=315360000"
                for name in ("__client_uat", f"__client_uat_{suffix}")
            ),
            *(f"{name}={attributes}; Max-Age=0" for name in ("__session", f"__session_{suffix}")),
        ]

    # -- sign-in

    def _account_note(self, user: User) -> str:
        instance = self.instance
        last = instance.last_active_organization(user)
        memberships = instance.memberships(user)
        orgs = ", ".join(
            f"{instance.organization(m.organization_id).name} ({m.role})" for m in memberships
        )
        if last is not None:
            then = f"signs in to {last.name}"
        elif instance.personal_accounts:
            then = "signs in to the personal account"
        else:
            then = "will choose an organization"
        return f"{orgs or 'no organizations'} · {then}"

    def sign_in_page(self, request: InstanceRequest, error: str = "") -> InstanceResponse:
        """The sign-in page: every user as a button, and a form creating a user."""
        hidden = self._hidden(request)
        action = _e(request.path)
        accounts = "".join(
            f'<li><form method=post action="{action}">{hidden}'
            f'<button type=submit name=user_id value="{_e(user.id)}" data-user-id="{_e(user.id)}">'
            f"<strong>{_e(_display_name(user))}</strong>"
            f"<small>{_e(user.email_address or user.id)}</small>"
            f"<small>{_e(self._account_note(user))}</small></button></form></li>"
            for user in self.instance.users()
        )
        body = (
            "<h1>Sign in</h1>"
            + (f"<p class=error role=alert>{_e(error)}</p>" if error else "")
            + (f"<h2>Choose an account</h2><ul>{accounts}</ul>" if accounts else "")
            + "<h2>Create an account</h2>"
            f'<form method=post action="{action}" id=create-user>{hidden}'
            "<label>First name <input type=text name=first_name></label>"
            "<label>Last name <input type=text name=last_name></label>"
            "<label>Email address <input type=email name=email_address></label>"
            "<p><button type=submit>Create account and sign in</button></p></form>"
        )
        return _page("Sign in", body, status=400 if error else 200)

    def sign_in(self, request: InstanceRequest) -> InstanceResponse:
        """Sign the browser in as the chosen (or a new) user; one session per browser."""
        instance = self.instance
        form = request.form()
        user: User
        if form.get("user_id"):
            try:
                user = instance.user(form["user_id"])
            except KeyError:
                return self.sign_in_page(request, "No such user.")
        else:
            first, last, email = (
                form.get(name, "").strip() or None
                for name in ("first_name", "last_name", "email_address")
            )
            if not (first or last or email):
                return self.sign_in_page(request, "Give a name or an email address.")
            user = instance.create_user(first_name=first, last_name=last, email_address=email)
        client = self._client(request)
        if client is not None:
            instance.sign_out(client)  # one session per browser (Clerk's single-session mode)
        organization = instance.last_active_organization(user)
        session = instance.sign_in(
            user,
            organization=organization,
            pending=organization is None and not instance.personal_accounts,
            client=client,
        )
        return self._back(request, session.client_id, "Signed in")

    # -- the choose-organization task

    def _pending_session(self, request: InstanceRequest) -> tuple[Client | None, Session | None]:
        client = self._client(request)
        session = self.instance.active_session(client) if client is not None else None
        return client, session

    def task_page(self, request: InstanceRequest, error: str = "") -> InstanceResponse:
        """The "choose an organization" task of the browser's pending session."""
        instance = self.instance
        client, session = self._pending_session(request)
        redirect_url = self._param(request, "redirect_url")
        if client is None or session is None:
            link = f"{instance.url}/sign-in{self._query(request)}"
            body = f'<h1>Not signed in</h1><p><a href="{_e(link)}">Sign in</a> first.</p>'
            return _page("Not signed in", body)
        if session.status != "pending":
            back = redirect_url if _absolute_http(redirect_url) else ""
            link = f'<p><a href="{_e(back)}">Continue</a></p>' if back else ""
            return _page("No task left", f"<h1>No task left</h1>{link}")
        hidden = self._hidden(request)
        action = _e(request.path)
        user = instance.user(session.user_id)
        choices = "".join(
            f'<li><form method=post action="{action}">{hidden}'
            f'<button type=submit name=organization_id value="{_e(org.id)}">'
            f"<strong>{_e(org.name)}</strong><small>your role: {_e(membership.role)}</small>"
            "</button></form></li>"
            for membership in instance.memberships(user)
            for org in [instance.organization(membership.organization_id)]
        )
        back = (
            f'<p><a id=back-to-app href="{_e(_origin(redirect_url))}/">Not now: back to the app'
            "</a> (your session stays pending)</p>"
            if _absolute_http(redirect_url)
            else ""
        )
        body = (
            "<h1>Choose an organization</h1>"
            f"<p>Signed in as <strong>{_e(_display_name(user))}</strong>. This application "
            "needs an active organization: choose one or create one to finish signing in.</p>"
            + (f"<p class=error role=alert>{_e(error)}</p>" if error else "")
            + (f"<h2>Your organizations</h2><ul>{choices}</ul>" if choices else "")
            + "<h2>Create an organization</h2>"
            f'<form method=post action="{action}" id=create-organization>{hidden}'
            "<label>Name <input type=text name=name required></label>"
            "<p><button type=submit>Create organization</button></p></form>" + back
        )
        return _page("Choose an organization", body, status=400 if error else 200)

    def complete_task(self, request: InstanceRequest) -> InstanceResponse:
        """Activate the chosen (or a new) organization; the session becomes active."""
        instance = self.instance
        client, session = self._pending_session(request)
        if client is None or session is None:
            return self.task_page(request)
        if session.status == "pending":
            form = request.form()
            organization: Organization
            if form.get("organization_id"):
                try:
                    organization = instance.organization(form["organization_id"])
                    instance.set_active_organization(session, organization)
                except (KeyError, ValueError):
                    return self.task_page(request, "You are not a member of that organization.")
            elif form.get("name", "").strip():
                name = form["name"].strip()
                organization = instance.create_organization(name, slug=self._free_slug(name))
                instance.add_membership(session.user_id, organization, role="admin")
                instance.set_active_organization(session, organization)
            else:
                return self.task_page(request, "Choose an organization or name a new one.")
        return self._back(request, client.id, "Organization chosen")

    def _free_slug(self, name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"
        slug, n = base, 1
        while True:
            try:
                self.instance.organization(slug)
            except KeyError:
                return slug
            n += 1
            slug = f"{base}-{n}"

    # -- sign-out

    def sign_out(self, request: InstanceRequest) -> InstanceResponse:
        """End the browser's sessions."""
        client = self._client(request)
        if client is None:
            redirect_url = self._param(request, "redirect_url")
            if _absolute_http(redirect_url):
                return InstanceResponse.redirect(redirect_url, 303)
            return _page("Signed out", "<h1>Signed out</h1>")
        self.instance.sign_out(client)
        return self._back(request, client.id, "Signed out")
