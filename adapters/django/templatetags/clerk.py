"""``{% load clerk %}``: Clerk's ``<SignedIn>``, ``<SignedOut>`` and ``<Protect>`` as Django tags.

::

    {% load clerk %}
    {% signed_in %}Welcome back, {{ auth.user_id }}{% endsigned_in %}
    {% signed_out %}<a href="/sign-in">Sign in</a>{% endsigned_out %}
    {% signed_in treat_pending_as_signed_out=False %}Almost there{% endsigned_in %}
    {% protect role="org:admin" %}<a href="/admin">Admin</a>{% else %}Admins only{% endprotect %}

Each tag takes keyword arguments only (values are template expressions:
``role=required_role`` works), and an optional ``{% else %}`` (``<Protect
fallback>``). ``protect`` takes ``role``, ``permission``, ``feature``, ``plan``
and ``treat_pending_as_signed_out``; the others only
``treat_pending_as_signed_out``. The request is the one being rendered
(``render(request, ...)``), else the current request of the middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token, token_kwargs
from django.template.context import Context

from ..._common import ControlHelper
from .. import holds, protect, signed_in, signed_out

__all__ = ["register"]

#: The tag library.
register = template.Library()

_PENDING = frozenset({"treat_pending_as_signed_out"})


class ControlNode(template.Node):
    """A ``{% signed_in %}``-style block: its body if the condition holds, else its ``else``."""

    def __init__(
        self,
        make: Callable[..., ControlHelper],
        arguments: dict[str, FilterExpression],
        shown: NodeList,
        fallback: NodeList,
    ) -> None:
        self.make = make
        self.arguments = arguments
        self.shown = shown
        self.fallback = fallback

    def render(self, context: Context) -> str:
        """Render the body or the fallback, as the request's auth state says."""
        values: dict[str, Any] = {
            name: value.resolve(context) for name, value in self.arguments.items()
        }
        helper = self.make(**values)
        chosen = self.shown if holds(helper, getattr(context, "request", None)) else self.fallback
        return chosen.render(context)


def _control_tag(name: str, make: Callable[..., ControlHelper], allowed: frozenset[str]) -> None:
    end = f"end{name}"

    def compile_tag(parser: Parser, token: Token) -> ControlNode:
        bits = token.split_contents()[1:]
        arguments = token_kwargs(bits, parser)
        if bits:
            raise template.TemplateSyntaxError(
                f"{{% {name} %}} takes keyword arguments only "
                f"({', '.join(sorted(allowed))}), not {bits[0]!r}."
            )
        unknown = sorted(set(arguments) - allowed)
        if unknown:
            raise template.TemplateSyntaxError(
                f"{{% {name} %}} got unknown argument(s) {', '.join(unknown)}; "
                f"it takes {', '.join(sorted(allowed))}."
            )
        shown = parser.parse(("else", end))
        fallback = NodeList()
        if parser.next_token().contents == "else":
            fallback = parser.parse((end,))
            parser.delete_first_token()
        return ControlNode(make, arguments, shown, fallback)

    register.tag(name, compile_tag)


_control_tag("signed_in", signed_in, _PENDING)
_control_tag("signed_out", signed_out, _PENDING)
_control_tag("protect", protect, _PENDING | {"role", "permission", "feature", "plan"})
