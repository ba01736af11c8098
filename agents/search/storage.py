"""Optuna storages by URL: in memory, a journal file, SQLite, PostgreSQL; passwords kept out of messages.

None (in memory), a journal file (``*.log``/``*.journal``: one machine, many processes),
``sqlite:///file.db`` (one machine) and ``postgresql://...`` (many machines). SQLite and
PostgreSQL get heartbeats: a trial whose worker was killed is marked failed after the grace
period and retried once by another worker (``RetryHeartbeatStaleTrialCallback``). The
journal storage has no heartbeat in Optuna. A URL's password never reaches a message.
"""

from __future__ import annotations

import os
import time
import warnings

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RetryHeartbeatStaleTrialCallback

from hicenv.errors import InputError
from hicenv_agents.search.journal import journal_lock, repair_journal

__all__ = ["resolve_storage", "redact", "HEARTBEAT_S", "GRACE_S"]

HEARTBEAT_S = int(os.environ.get("HICENV_HEARTBEAT_S", 5))
"""Seconds between a running trial's heartbeats (RDB storages; ``$HICENV_HEARTBEAT_S``)."""
GRACE_S = int(os.environ.get("HICENV_GRACE_S", 20))
"""Seconds without a heartbeat after which a running trial counts as failed (``$HICENV_GRACE_S``)."""


def resolve_storage(url: str | None, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S, must_exist: bool = False):
    """None or "memory" -> in memory; a .log/.journal path -> journal file; sqlite:// or
    postgresql:// -> RDB storage with heartbeats and one retry of a killed worker's trial.
    ``must_exist`` (reading a study: ``pareto``, ``worker``): a journal or SQLite file
    that is not there is an error, not a new empty storage."""
    if url is None or url == "memory":
        return optuna.storages.InMemoryStorage()
    local = url if "://" not in url else url[len("sqlite:///") :] if url.startswith("sqlite:///") else None
    if must_exist and local is not None and not os.path.isfile(local):
        raise InputError(f"no study storage at {local} (a study is created by hicenv study)")
    if url.endswith((".log", ".journal")) and "://" not in url:
        from optuna.storages.journal import JournalFileBackend

        try:
            os.makedirs(os.path.dirname(os.path.abspath(url)), exist_ok=True)
            if os.path.isdir(url):
                raise IsADirectoryError(21, "is a folder")
            repair_journal(url)  # a torn record from a crash must not make the study unreadable
            return optuna.storages.JournalStorage(JournalFileBackend(url, lock_obj=journal_lock(url)))
        except OSError as e:
            raise InputError(f"cannot use journal file {url}: {e.strerror or e}") from None
    if url.startswith(("sqlite://", "postgresql", "mysql")):
        return _rdb_storage(url, heartbeat_s, grace_s)
    hint = " (postgresql://, not postgres://)" if url.startswith("postgres://") else ""
    raise InputError(
        f"unknown storage {redact(url)!r}{hint}: give a .log/.journal file, sqlite:///FILE or postgresql://..."
    )


def _rdb_storage(url: str, heartbeat_s: int, grace_s: int, attempts: int = 5):
    """An RDB storage with heartbeats. Two processes opening one new database race on its
    schema (one sees "already exists" or a duplicate version row): such an error is retried."""
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.8
                warnings.simplefilter("ignore", ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    heartbeat_interval=heartbeat_s,
                    grace_period=grace_s,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                    engine_kwargs={"pool_pre_ping": True},
                )
        except Exception as e:  # sqlalchemy's connection errors, missing drivers
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            racing = any(m in first for m in ("already exists", "UNIQUE constraint", "duplicate key", "locked"))
            if racing and attempt < attempts - 1:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise InputError(f"cannot open storage {redact(url)}: {redact_text(first, url)}") from None


def _passwords(url: str) -> list[str]:
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
    except ValueError:
        return []
    return found + [v for k, v in parse_qsl(parts.query) if k.lower() in ("password", "pwd") and v]


def redact(url: str) -> str:
    """The URL without its passwords (in the credentials or a ``password=`` query), for messages."""
    return redact_text(url, url)


def redact_text(text: str, url: str) -> str:
    """``text`` with the passwords of ``url`` masked where they stand as passwords (``:pw@``,
    ``password=pw``, raw or URL-encoded): a short password is not masked inside words."""
    import re
    from urllib.parse import quote

    for secret in _passwords(url):
        for form in {secret, quote(secret, safe="")}:
            s = re.escape(form)
            text = re.sub(rf":{s}@", ":***@", text)
            text = re.sub(rf"((?:password|pwd)=){s}(?=[&\s'\"]|$)", r"\1***", text, flags=re.IGNORECASE)
    return text
