"""Reliability tests: Backend API faults, load on real servers, concurrency (issue 7)."""
