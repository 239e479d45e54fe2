"""Security tests: forged tokens, hostile input, redirects, secrets (issue 7)."""
