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


def job_stream(queue: str) -> str:
    """The Redis Stream holding one job queue (consumer group "workers")."""
    return f"{PREFIX}:jobs:{queue}"


def job_attempts(queue: str) -> str:
    """Hash of job key -> how many times a worker has started it."""
    return f"{PREFIX}:jobs:{queue}:attempts"


def upload_claim(post_id: int) -> str:
    """Set while an upload URL for `post_id` is being used or once it has been used."""
    return f"{PREFIX}:upload:{post_id}"
