"""Test helpers: raw HTTP client, in-thread server, subprocess server."""
