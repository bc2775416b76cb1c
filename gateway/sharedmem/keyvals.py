"""uWSGI's ``key=value,key=value`` option values (``--cache2``, ``--metric``), split once."""

from __future__ import annotations

from typing import Dict, Optional


def parse_keyvals(text: str) -> Optional[Dict[str, str]]:
    """``"name=a, items=10"`` -> ``{"name": "a", "items": "10"}`` (blank parts skipped, keys and
    values stripped); None if a part has no ``=`` (the caller says which option was wrong)."""
    kv: Dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep:
            return None
        kv[k.strip()] = v.strip()
    return kv
