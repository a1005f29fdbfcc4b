"""Every Redis key name Pixtrio uses, built here and nowhere else.

Every key carries its owner's hash tag, so a Redis Cluster keeps an owner's keys on one
slot and a script can touch them together: `{u:<id>}` for a user's, `{p:<id>}` for a
post's (its like counter included), `{t:<hash>}` for a token's, `{a:<address>}` for a
client address's, an account's tag for its sign-in failures, and a tag of their own for
the global singletons (`{celebrities}`, `{likes}`).
A job queue's companions carry its stream's whole name as their tag, so the stream kept
the name it had before tags (its queued jobs survive the upgrade) and shares their slot.
Bus channels are not keys: they are named by bucket (see `events`).
"""

PREFIX = "px"


def rate_limit(rule: str, subject: str) -> str:
    """GCRA state for one rate-limit rule and subject, which is its own hash tag: an
    account's (`u:<id>`) or a client address's (`a:<address>`)."""
    return f"{PREFIX}:rl:{{{subject}}}:{rule}"


def worker_lease(field: int) -> str:
    """Set while a server process holds id-generator worker field `field` (see `leases`);
    in the `{ids}` slot with `lease_epoch`, so one script may touch both."""
    return f"{PREFIX}:{{ids}}:worker:{field}"


def lease_epoch() -> str:
    """When the worker lease table began (Redis TIME, ms), kept without expiry: a field
    taken is minted on only from this plus the lease expiry on (see `leases`)."""
    return f"{PREFIX}:{{ids}}:epoch"


def job_stream(queue: str) -> str:
    """The Redis Stream holding one job queue (consumer group "workers")."""
    return f"{PREFIX}:jobs:{queue}"


def job_attempts(queue: str) -> str:
    """Hash of job key -> how many times a worker has started it."""
    return f"{{{job_stream(queue)}}}:attempts"


def job_failures(queue: str) -> str:
    """Hash of job key -> how many of its attempts ended in an error or a timeout."""
    return f"{{{job_stream(queue)}}}:failures"


def job_entries(queue: str) -> str:
    """Hash of job key -> the stream entry id of its latest job (see `jobs`)."""
    return f"{{{job_stream(queue)}}}:entries"


def upload_claim(post_id: int) -> str:
    """Set while an upload URL for `post_id` is being used or once it has been used."""
    return f"{PREFIX}:upload:{{p:{post_id}}}"


def timeline(user_id: int) -> str:
    """Sorted set of the post ids in a user's home timeline (see `timelines`)."""
    return f"{PREFIX}:timeline:{{u:{user_id}}}"


def author_recent(author_id: int) -> str:
    """Sorted set of an author's most recent ready post ids (see `timelines`)."""
    return f"{PREFIX}:recent:{{u:{author_id}}}"


def following(user_id: int) -> str:
    """Set of the ids a user follows, a copy of the store's (see `mirrored_sets`)."""
    return f"{PREFIX}:following:{{u:{user_id}}}"


def following_version(user_id: int) -> str:
    """Bumped on every follow or unfollow by the user (see `mirrored_sets`)."""
    return f"{PREFIX}:following:{{u:{user_id}}}:ver"


def liked(user_id: int) -> str:
    """Set of the post ids a user likes, a copy of the store's (see `mirrored_sets`)."""
    return f"{PREFIX}:liked:{{u:{user_id}}}"


def liked_version(user_id: int) -> str:
    """Bumped on every like or unlike by the user (see `mirrored_sets`)."""
    return f"{PREFIX}:liked:{{u:{user_id}}}:ver"


def suspended() -> str:
    """Set of the suspended users, a copy of the store's (see `mirrored_sets`)."""
    return f"{PREFIX}:{{suspended}}"


def suspended_version() -> str:
    """Bumped on every suspension or its end (see `mirrored_sets`)."""
    return f"{PREFIX}:{{suspended}}:ver"


def private_accounts() -> str:
    """Set of the private accounts, a copy of the store's (see `mirrored_sets`)."""
    return f"{PREFIX}:{{private}}"


def private_accounts_version() -> str:
    """Bumped on every switch to private or public (see `mirrored_sets`)."""
    return f"{PREFIX}:{{private}}:ver"


def celebrities() -> str:
    """Set of the authors whose posts are pulled at read time instead of pushed."""
    return f"{PREFIX}:{{celebrities}}"


def post_cache(post_id: int) -> str:
    """A post's metadata as JSON, or a tombstone once deleted."""
    return f"{PREFIX}:post:{{p:{post_id}}}"


def post_generation(post_id: int) -> str:
    """Bumped on every change to a post, so a cache fill that raced a change is dropped."""
    return f"{PREFIX}:post:{{p:{post_id}}}:gen"


def author_card(user_id: int) -> str:
    """A user as API.md's post `author` (JSON), as the feed's page read hands it out."""
    return f"{PREFIX}:card:{{u:{user_id}}}"


def author_card_generation(user_id: int) -> str:
    """Bumped on every change to a user's card, so a fill that raced it is dropped."""
    return f"{PREFIX}:card:{{u:{user_id}}}:gen"


def like_count(post_id: int) -> str:
    """A post's like counter, on the post's slot (see `like_counters`)."""
    return f"{PREFIX}:likes:{{p:{post_id}}}"


def likes_dirty() -> str:
    """Set of post ids whose like count changed since the last flush."""
    return f"{PREFIX}:{{likes}}:dirty"


def events(user_id: int) -> str:
    """Stream of the events a user should see, capped; exists while they are online or
    were within the last few minutes (see `events`)."""
    return f"{PREFIX}:ev:{{u:{user_id}}}"


def bus_channel(bucket: int) -> str:
    """Pub/sub channel carrying the live events and token revocations of the users in
    one bucket (see `events.bucket_of`)."""
    return f"{PREFIX}:ch:{bucket}"


def session_token(token_hash_hex: str) -> str:
    """Cached sign-in of a token for websocket sessions (user id, username, picture)."""
    return f"{PREFIX}:tok:{{t:{token_hash_hex}}}"


def session_tokens_of(user_id: int) -> str:
    """Set of the token hashes cached by `session_token` for one user."""
    return f"{PREFIX}:toks:{{u:{user_id}}}"


def login_failures_from(account: str, address: str) -> str:
    """GCRA state of failed sign-ins to an account (`u:<id>`, or `n:<hash>` for a name no
    account has) from one client address (see `login_failures`)."""
    return f"{PREFIX}:lf:{{{account}}}:{address}"


def login_failures(account: str) -> str:
    """GCRA state of failed sign-ins to an account from anywhere (see `login_failures`)."""
    return f"{PREFIX}:lf:{{{account}}}"


def sign_in_addresses(account: str) -> str:
    """Sorted set of the client addresses an account signed in from, scored by when."""
    return f"{PREFIX}:signins:{{{account}}}"


def hash_blocklist_version() -> str:
    """Counter bumped on every change to the perceptual-hash blocklist (see
    `blocklist_version`); a global singleton with a tag of its own."""
    return f"{PREFIX}:{{hashblocklist}}:version"
