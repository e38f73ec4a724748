"""The on-disk cache: what a command would otherwise rebuild at every start, kept between runs.

Entries live under the user's cache directory (``platformdirs.user_cache_dir("costgraph")``,
or ``COSTGRAPH_CACHE_DIR``); ``COSTGRAPH_NO_CACHE=1`` turns the cache off. Each entry is
named by a hash of everything it was built from (the rules folder's files, the package's
version and the versions of the libraries whose objects it holds), so a stale entry is never
found, only left behind.

Reading a cache must never run code from it, and unpickling runs code. So an entry is
unpickled only after its HMAC-SHA256, computed with a secret that only this user can read
(``secret``, 32 random bytes, mode 0600, made on first use), matches: a file someone else
wrote, a truncated or corrupt one, or one renamed from another entry fails the check and is
ignored (and removed). The directory and the secret are refused outright, and the cache is
off, when another user owns them or others may write to them. Every write goes to a
temporary file in the same directory and is renamed into place, so a reader sees a whole
entry or none, and two processes writing the same entry at once both leave a good one.

The cache is bounded: each new set of rules, numbers or library versions adds entries that
later runs may never read again, so after a write that leaves the folder above
``COSTGRAPH_CACHE_MAX_MB`` (256 MB unless set) the entries read or written longest ago are
removed until it is under three quarters of that. A read marks its entry as used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import pickle
import secrets
import sys
import tempfile
import weakref
from pathlib import Path

ENV_DIR = "COSTGRAPH_CACHE_DIR"
ENV_OFF = "COSTGRAPH_NO_CACHE"
ENV_MAX = "COSTGRAPH_CACHE_MAX_MB"
DEFAULT_MAX_MB = 256
_MAGIC = b"CGCACHE1"  # format version: a new layout gets a new magic, old files fail the check
_SECRET = "secret"
_SECRET_BYTES = 32


def enabled() -> bool:
    """Whether the cache is on (``COSTGRAPH_NO_CACHE`` unset, empty or ``0``)."""
    return os.environ.get(ENV_OFF, "") in ("", "0")


def cache_dir() -> Path:
    """Where entries live: ``COSTGRAPH_CACHE_DIR``, else the user's cache directory."""
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    try:
        import platformdirs
    except ImportError:  # the cache directory's conventional place without platformdirs
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        return Path(base) / "costgraph"
    return Path(platformdirs.user_cache_dir("costgraph", appauthor=False))


def _private(path: Path, mask: int) -> bool:
    """Whether ``path`` is this user's own and nobody else may write it (POSIX)."""
    if not hasattr(os, "getuid"):
        return True  # no owners to compare; the HMAC check still guards every entry
    st = os.lstat(path)
    return st.st_uid == os.getuid() and not st.st_mode & mask


def _folder() -> Path | None:
    """The cache directory, made if missing, or None when the cache is off or unsafe."""
    if not enabled():
        return None
    max_bytes()  # a bound that cannot be read is named whenever the cache is used
    folder = cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder if _private(folder, 0o022) else None
    except OSError:  # unwritable, a file in the way, a NUL in the name: run uncached
        return None


def _secret(folder: Path) -> bytes | None:
    """This user's secret for the cache's HMACs, made (whole, atomically) on first use."""
    path = folder / _SECRET
    if not path.exists():
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-secret-")  # mode 0600
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(_SECRET_BYTES))
            try:
                os.link(tmp, path)  # fails if another process made it first: theirs stands
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        except OSError:
            return None
    try:
        if not _private(path, 0o077):
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) == _SECRET_BYTES else None


def _mac(secret: bytes, name: str, payload: bytes) -> bytes:
    return hmac.new(secret, name.encode() + b"\0" + payload, hashlib.sha256).digest()


def read(name: str) -> bytes | None:
    """The payload stored under ``name``, or None when absent, off, or not verified."""
    folder = _folder()
    secret = folder and _secret(folder)
    if not secret:
        return None
    path = folder / name
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + hashlib.sha256().digest_size
    if (len(data) < head or not data.startswith(_MAGIC)
            or not hmac.compare_digest(data[len(_MAGIC):head], _mac(secret, name, data[head:]))):
        _remove(path)  # truncated, corrupt, or not ours: rebuilt by the caller
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: the bound removes what was used longest ago first
    return data[head:]


def write(name: str, payload: bytes) -> bool:
    """Store ``payload`` under ``name`` atomically; False when the cache is off or unwritable."""
    folder = _folder()
    secret = folder and _secret(folder)
    if not secret:
        return False
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + name)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_MAGIC + _mac(secret, name, payload) + payload)
        os.replace(tmp, folder / name)  # readers see the old entry or the new, never half
    except OSError:
        _remove(Path(tmp))
        return False
    _trim(folder, name)
    return True


def max_bytes() -> int:
    """The folder's bound in bytes: ``COSTGRAPH_CACHE_MAX_MB`` megabytes, else the default.

    A value that is not a positive number is refused with a warning on stderr naming it (once
    per process and value, however many entries are written), and the default applies: a
    cache setting never stops a command.
    """
    return _bound(os.environ.get(ENV_MAX, "").strip())


@functools.lru_cache(maxsize=8)
def _bound(raw: str) -> int:
    if raw:
        try:
            megabytes = float(raw)
        except ValueError:
            megabytes = -1.0
        if megabytes > 0 and megabytes < 1e9:
            return int(megabytes * 1e6)
        print(f"costgraph: {ENV_MAX}={raw!r} is not a positive number of megabytes; the cache "
              f"keeps its default bound of {DEFAULT_MAX_MB} MB", file=sys.stderr)
    return DEFAULT_MAX_MB * 1_000_000


def _trim(folder: Path, written: str) -> None:
    """Remove the entries used longest ago while the folder is above its bound, down to three
    quarters of it; never the secret, an entry being written, or the one just written."""
    limit = max_bytes()
    entries, total = [], 0
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name == _SECRET or entry.name.startswith(".tmp-"):
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
                total += st.st_size
                if entry.name != written:
                    entries.append((st.st_mtime, entry.name, st.st_size))
    except OSError:
        return
    if total <= limit:
        return
    for _, name, size in sorted(entries):
        _remove(folder / name)
        total -= size
        if total <= limit * 3 // 4:
            break


def load_object(name: str):
    """The object pickled under ``name``, or None (absent, off, not verified, unreadable)."""
    payload = read(name)
    if payload is None:
        return None
    try:
        return pickle.loads(payload)  # verified above: this user's own process wrote it
    except Exception:  # an entry from a library version whose classes changed: rebuild
        folder = _folder()
        if folder is not None:
            _remove(folder / name)
        return None


def store_object(name: str, value) -> bool:
    """Pickle ``value`` under ``name``; False (and nothing stored) when it cannot be."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something in it does not pickle: stay uncached
        return False
    return write(name, payload)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# pint's own cache ------------------------------------------------------------------------------


def pint_entry_prefix() -> str:
    """The entry names' prefix for this pint: its version and where it is installed.

    pint's cached files name the definition files they were parsed from by absolute path,
    so files written by another installation of the same version (another environment,
    since removed) would send pint to read files that are no longer there.
    """
    import pint

    where = hashlib.sha256(os.path.abspath(pint.__file__).encode()).hexdigest()[:16]
    return f"pint-{pint.__version__}-{where}"


@contextlib.contextmanager
def pint_folder():
    """A private folder holding pint's cached definitions, verified, for ``cache_folder=``.

    pint caches its parsed definition files as pickles in a folder it reads by itself. So it
    never reads a shared one: each process gets a temporary folder filled with the files
    this cache verified (each stored as an HMAC-checked entry), and the files pint adds
    there are stored back the same way. Yields None when the cache is off. An error raised
    by the body is the body's: it is never swallowed here.
    """
    folder = _folder()
    if folder is None or not _secret(folder):
        yield None
        return
    prefix = pint_entry_prefix()
    listing = f"{prefix}.list"
    listed = (read(listing) or b"").decode("utf-8", "replace").split()
    try:
        work = tempfile.mkdtemp(dir=folder, prefix=".tmp-pint-")
    except OSError:
        yield None
        return
    known = []  # the listed files still stored (the bound may have removed some)
    try:
        with contextlib.suppress(OSError):
            for file in listed:
                payload = read(f"{prefix}-{file}")
                if payload is not None and "/" not in file and file[:1] != ".":
                    Path(work, file).write_bytes(payload)
                    known.append(file)
        yield work
        with contextlib.suppress(OSError):
            added = sorted(set(os.listdir(work)) - set(known))
            for file in added:
                write(f"{prefix}-{file}", Path(work, file).read_bytes())
            if added:
                write(listing, "\n".join(sorted(set(listed) | set(added))).encode())
    finally:
        with contextlib.suppress(OSError):
            for file in os.listdir(work):
                _remove(Path(work, file))
            os.rmdir(work)


# keys ---------------------------------------------------------------------------------------


def folder_digest(root: Path) -> str:
    """A hash of every file under ``root`` (relative path and bytes), in a sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def environment_key() -> str:
    """The package's version and the versions of what cached objects hold, as one text."""
    from importlib import metadata

    from .version import __version__

    parts = [f"costgraph={__version__}", f"python={sys.version_info[:3]}"]
    for dist in ("pint", "pydantic", "numpy", "PyYAML"):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=none")
    return ";".join(parts)


def entry_name(kind: str, *parts: str) -> str:
    """A file name for ``kind`` keyed by ``parts`` (hashed)."""
    return f"{kind}-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:32]}.pickle"


def cached_ruleset(root: Path, build):
    """``build(root)`` (a RuleSet), kept on disk keyed by the folder's files and the versions.

    A changed, added or removed file, another package version, or another place for the
    same files is another key; an entry that fails its check is rebuilt and stored again.
    """
    if _folder() is None:
        return build(root)
    try:
        digest = folder_digest(root)
    except OSError:  # the folder cannot be read whole: load_ruleset says what is wrong
        return build(root)
    name = entry_name("rules", digest, environment_key(), str(root))
    found = load_object(name)
    if found is not None:
        return _remembered(found, name)
    ruleset = build(root)
    store_object(name, ruleset)
    return _remembered(ruleset, name)


# rule set (by id) -> (a weak reference to it, the name of its entry): what it was built from
_RULESETS: dict[int, tuple] = {}


def _remembered(ruleset, name: str):
    key = id(ruleset)
    _RULESETS[key] = (weakref.ref(ruleset, lambda _: _RULESETS.pop(key, None)), name)
    return ruleset


def ruleset_key(ruleset) -> str | None:
    """The name of the entry ``ruleset`` was read from or stored under: a hash of the files it
    was built from and of the versions (``cached_ruleset``); None for a rule set built
    otherwise, whose derived entries therefore have no key to be kept under."""
    found = _RULESETS.get(id(ruleset))
    return found[1] if found is not None and found[0]() is ruleset else None
