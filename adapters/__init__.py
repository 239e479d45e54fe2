"""clerk_middleware.adapters: Clerk authentication for Python web frameworks.

One thin module per framework, each with the same shape::

    clerk_middleware(handler=None, **options)   the middleware (the callback API)
    auth                                        auth() / auth.protect() for the current request
    get_auth(request)                           the auth object of a native request
    signed_in(), signed_out(), protect()        control helpers: Jinja2 globals and view decorators

Modules: ``wsgi`` (any WSGI app), ``flask`` (built on ``wsgi``), ``asgi`` (any
ASGI app), ``starlette`` (built on ``asgi``) and ``fastapi`` (built on
``starlette``). Import the one you need; this package imports no framework.

Adapters translate and never decide: each maps its native request onto one
``clerk_middleware.core.AuthRequest``, lets the core authenticate it, and turns
the core's control-flow exceptions into its own responses in one place.
"""
