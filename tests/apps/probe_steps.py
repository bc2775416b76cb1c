"""How the differential probes (``api_probe.py``, ``sigcache_probe.py``) report one step: its
result as ``{"type": ..., "repr": ...}`` or the exception as ``{"exc": ..., "msg": ...}``, so two
servers' answers compare as JSON."""


def outcome(step):
    """Run ``step()`` and describe what it returned or raised."""
    try:
        value = step()
    except Exception as e:  # report any failure: exception type and message are the data
        return {"exc": type(e).__name__, "msg": str(e)}
    return {"type": type(value).__name__, "repr": repr(value)}
