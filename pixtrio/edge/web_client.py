"""The browser client's files, read once at start: the app shell and content-hashed assets.

`web/` holds plain ES modules and stylesheets with no build step. Every file except the
shell (`index.html`) and READMEs is an asset; one hash over all their bytes names this
release, the shell's `"/assets/..."` attribute values are rewritten to carry it, so an asset URL
with the hash names the same bytes for as long as any server answers it (`immutable`).
Relative imports between modules work because every asset shares the one hash.
Every text file worth it also gets a gzip variant, made here once (`gzip_variant`).
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
SHELL = "index.html"
ASSET_PREFIX = "/assets/"
PRELOADS = "<!-- module preloads -->"
"""Where the shell lists the modules its scripts import statically, directly or not, so the
browser fetches them all at once instead of discovering them import by import. Modules
only imported dynamically (`import("./x.js")`, the screens loaded when first shown) are
left to load when asked for."""
ENTRY = re.compile(r"""<script type="module" src="/assets/([^"]+)">""")
STATIC_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'"();]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""",
    re.MULTILINE)
"""`import ... from "x"`, `export ... from "x"` and `import "x"` at the start of a line."""
CONTENT_TYPES = {
    "": "text/plain; charset=utf-8",  # LICENSE files
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
}
"""The only files served: a type for each, never a guess (and never the platform's
`mimetypes`, which names .js differently from one machine to the next)."""
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
"""Content types a gzip variant is made for; images, fonts and wasm are compressed already."""
GZIP_MIN_SIZE = 1024
"""Smaller files are served as they are: the saving would not pay for the variant."""
GZIP_MIN_SAVING = 0.10
"""A variant must be at least this much smaller than the file to be kept."""
QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
HOST = re.compile(r"(?:[a-z0-9-]{1,63}\.){0,126}[a-z0-9-]{1,63}(?::[0-9]{1,5})?", re.IGNORECASE)
"""A Host a CSP host-source can carry (names and IPv4 with a port; no IPv6 literals)."""


@dataclass(frozen=True)
class WebFile:
    body: bytes
    content_type: str
    etag: str
    """Strong: a hash of exactly these bytes."""
    gzip: bytes | None = None
    """`body` gzip-encoded, when that is worth serving (see `gzip_variant`)."""

    @property
    def gzip_etag(self) -> str:
        """The gzip variant's strong ETag: `etag` with a `-gz` suffix, so a cache never
        takes one variant's bytes for the other's."""
        return f'{self.etag[:-1]}-gz"'


def web_file(body: bytes, content_type: str) -> WebFile:
    return WebFile(body, content_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"',
                   gzip_variant(body, content_type))


def gzip_variant(body: bytes, content_type: str) -> bytes | None:
    """`body` gzipped at level 9 with a zero mtime (the same bytes on every start), or None
    for a type not in `COMPRESSIBLE`, a file under `GZIP_MIN_SIZE` or one that gzip shrinks
    by less than `GZIP_MIN_SAVING`. Blocking: a 1.5 MB script takes about 0.1 s."""
    if len(body) < GZIP_MIN_SIZE or not content_type.startswith(COMPRESSIBLE):
        return None
    compressed = gzip.compress(body, compresslevel=9, mtime=0)
    return compressed if len(compressed) <= len(body) * (1 - GZIP_MIN_SAVING) else None


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header lets gzip be served (RFC 9110 12.5.3): `gzip` or
    `x-gzip` with a qvalue above 0 or, when neither is named, `*` with one. No header
    means identity, what a client that never asked can read; a malformed qvalue counts
    as 0, so a header we cannot read never gets a coding it may not decode."""
    named: float | None = None
    anything: float | None = None
    for element in (accept_encoding or "").split(","):
        coding, *params = element.split(";")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = float(value.strip()) if QVALUE.fullmatch(value.strip()) else 0.0
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            named = max(q, named or 0.0)
        elif coding == "*":
            anything = max(q, anything or 0.0)
    allowed = named if named is not None else anything
    return allowed is not None and allowed > 0


def static_imports(assets: dict[str, WebFile], entries: list[str]) -> list[str]:
    """The modules of `assets` that `entries` import statically, directly or through each
    other (entries included), in a stable order."""
    found: list[str] = []
    pending = list(entries)
    while pending:
        name = pending.pop(0)
        if name in found or name not in assets:
            continue
        found.append(name)
        text = assets[name].body.decode("utf-8", "replace")
        for named, bare in STATIC_IMPORT.findall(text):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), named or bare)))
    return sorted(found)


@dataclass(frozen=True)
class WebClient:
    shell: WebFile
    assets: dict[str, WebFile]
    """By path relative to `web/`, with '/' separators."""
    version: str
    """The content hash that hashed asset URLs carry."""

    @classmethod
    def load(cls, root: Path = WEB_DIR) -> WebClient:
        """Read `root` (blocking; small files, once at start). Dotfiles, symlinks, READMEs
        and files of a type not in `CONTENT_TYPES` are not served."""
        assets = {}
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            if (path.is_symlink() or not path.is_file() or name == SHELL
                    or path.name.startswith(("README", "."))
                    or path.suffix.lower() not in CONTENT_TYPES):
                continue
            assets[name] = web_file(path.read_bytes(), CONTENT_TYPES[path.suffix.lower()])
        release = hashlib.sha256()
        for name, asset in assets.items():
            release.update(f"{name}\0{asset.etag}\0".encode())
        version = release.hexdigest()[:16]
        shell = (root / SHELL).read_text(encoding="utf-8")
        entries = ENTRY.findall(shell)
        preloads = "\n  ".join(f'<link rel="modulepreload" href="{ASSET_PREFIX}{name}">'
                                for name in static_imports(assets, entries)
                                if name not in entries)
        shell = shell.replace(PRELOADS, preloads).replace(
            f'"{ASSET_PREFIX}', f'"{ASSET_PREFIX}{version}/')
        return cls(web_file(shell.encode(), CONTENT_TYPES[".html"]), assets, version)

    def find(self, url_path: str) -> tuple[WebFile, bool] | None:
        """The asset at `url_path` (what follows `/assets/`) and whether its URL is
        hashed (so immutable), or None. Paths are looked up, never joined onto the
        filesystem, so `..`, encoded slashes and NUL find nothing."""
        version, _, rest = url_path.partition("/")
        if version == self.version and rest in self.assets:
            return self.assets[rest], True
        found = self.assets.get(url_path)
        return (found, False) if found is not None else None


def content_security_policy(host: str) -> str:
    """The shell's policy: only this origin's scripts, styles, images and media (plus
    data:/blob: images and blob: media for placeholders and players), no inline script,
    no eval, no framing.

    CSP3 lets `'self'` match ws:/wss: on the page's own host, but browsers that predate it
    do not, so the websocket's origin is also named from the request's Host when that is a
    plain host[:port]; anything else (IPv6 literals, junk) gets `'self'` alone, so a Host
    header can never add a directive.
    """
    sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        f"connect-src 'self'{sockets}",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ))
