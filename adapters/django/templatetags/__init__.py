"""Template tag libraries of ``clerk_middleware.adapters.django`` (``{% load clerk %}``)."""
