"""URL helpers shared by the resource packages that talk to the same servers."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def url_with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` in place of its own (quoted; clickhouse-driver unquotes it)."""
    if password is None:
        return url
    parts = urlsplit(url)
    user = quote(parts.username or "default", safe="")
    host = parts.hostname or ""
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def url_without_password(url: str) -> str:
    """``url`` with the password of its user part, if any, shown as ``***`` (for printing a URL)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{quote(parts.username or '', safe='')}:***@{netloc}"))
