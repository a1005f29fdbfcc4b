"""Every Redis key name Pixtrio uses, built here and nowhere else.

Keys that belong to one user carry a `{u:<id>}` hash tag so a Redis Cluster keeps a
user's keys on one slot.
"""

PREFIX = "px"


def rate_limit(rule: str, subject: str) -> str:
    """GCRA state for one rate-limit rule and subject (an IP or an account name)."""
    return f"{PREFIX}:rl:{rule}:{subject}"


def id_worker_counter() -> str:
    """Counter handing each server process its id-generator worker field."""
    return f"{PREFIX}:ids:worker"
