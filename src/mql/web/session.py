"""The web session: a cookie signed with the server secret (itsdangerous), naming the
signed-in token by its key id and carrying the session's CSRF token.

The cookie is HttpOnly, SameSite=Lax, Secure behind HTTPS, and expires after `MAX_AGE`
seconds; a signed-out visitor gets a session without a key (its CSRF token protects the
sign-in form). Each check of a session asks the store whether its key is still live, so
revoking a token signs its sessions out.

>>> sessions = Sessions("a server secret")
>>> text = sessions.dump(Session("k_1", "c" * 32))
>>> sessions.load(text)
Session(key_id='k_1', csrf='cccccccccccccccccccccccccccccccc')
>>> sessions.load(text[:-2] + "xx") is None, Sessions("another secret").load(text) is None
(True, True)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "mql_session"
MAX_AGE = 12 * 3600  # a working day; then sign in again


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (the token's key id, None before sign-in) and the CSRF token."""

    key_id: str | None
    csrf: str

    @classmethod
    def fresh(cls, key_id: str | None = None) -> Session:
        """A new session with a new random CSRF token."""
        return cls(key_id, secrets.token_urlsafe(24))

    def csrf_ok(self, presented: str | None) -> bool:
        """Whether a form's CSRF field is this session's token (compared in constant time)."""
        return presented is not None and hmac.compare_digest(presented, self.csrf)


class Sessions:
    """Signing and reading session cookies with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="mql.web.session")

    def dump(self, session: Session) -> str:
        """The cookie value of `session`."""
        return self._signer.dumps({"k": session.key_id, "c": session.csrf})

    def load(self, text: str | None) -> Session | None:
        """The session in a cookie value, or None when it is missing, forged or expired."""
        if not text:
            return None
        try:
            data = self._signer.loads(text, max_age=MAX_AGE)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        key = data.get("k")
        return Session(key if isinstance(key, str) else None, data["c"])
