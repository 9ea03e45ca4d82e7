"""The users file (``CM_USERS``): who may sign in to the console, with which roles.

Passwords are kept as argon2id hashes (``argon2-cffi``), API tokens as the hex SHA-256 of
the token: the file never holds a secret that works by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Literal

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from events.exceptions import ComplianceMonitorError

Role = Literal["officer", "hr", "it", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("officer", "hr", "it", "auditor", "admin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()


class UsersFileError(ComplianceMonitorError, ValueError):
    """The users file cannot be read or is invalid; the message names the key."""


class User(BaseModel):
    """One person (or API client) of the console."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="unique; shown in the audit log")
    display_name: str = ""
    roles: tuple[Role, ...] = Field(min_length=1)
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    password_hash: str | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("letters, digits and . _ @ - only, at most 64 characters")
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            raise ValueError("must be an argon2 hash (compliance-monitor users add writes one)")
        return value

    def has(self, *roles: Role) -> bool:
        """Whether the user holds any of ``roles``."""
        return any(role in self.roles for role in roles)

    @property
    def role(self) -> Role:
        """The role recorded in the audit log: the user's first."""
        return self.roles[0]


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[User] = Field(default_factory=list)

    @field_validator("users")
    @classmethod
    def _unique(cls, users: list[User]) -> list[User]:
        seen: set[str] = set()
        for user in users:
            if user.name in seen:
                raise ValueError(f"user {user.name!r} appears twice")
            seen.add(user.name)
        return users


class Directory:
    """The users of a loaded file, looked up by name, token or password."""

    def __init__(self, users: list[User]) -> None:
        self.by_name = {user.name: user for user in users}
        self._by_token = {user.token_sha256: user for user in users if user.token_sha256}

    def by_token(self, token: str) -> User | None:
        digest = token_digest(token)
        for known, user in self._by_token.items():  # compare every one in constant time
            if hmac.compare_digest(known, digest):
                return user
        return None

    def by_password(self, name: str, password: str) -> User | None:
        user = self.by_name.get(name)
        if user is None or user.password_hash is None:
            _HASHER.hash(password)  # the same work whether the user exists or not
            return None
        try:
            _HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_users(path: Path) -> Directory:
    """The users of ``path``; :class:`UsersFileError` naming the file and key if it is bad."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise UsersFileError(f"CM_USERS {path}: cannot read: {error}") from error
    try:
        return Directory(UsersFile.model_validate(raw).users)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsersFileError(f"CM_USERS {path}: {where}: {first['msg']}") from error


def add_user(
    path: Path,
    name: str,
    roles: list[Role],
    display_name: str = "",
    password: str | None = None,
    token: bool = False,
) -> str | None:
    """Add ``name`` to the users file at ``path`` (created if missing); the new API token, once."""
    existing = load_users(path).by_name if path.exists() else {}
    if name in existing:
        raise UsersFileError(f"CM_USERS {path}: user {name!r} exists already")
    new_token = secrets.token_urlsafe(32) if token else None
    user = User(
        name=name,
        display_name=display_name,
        roles=tuple(roles),
        token_sha256=token_digest(new_token) if new_token else None,
        password_hash=_HASHER.hash(password) if password else None,
    )
    users = [*existing.values(), user]
    document = {"users": [u.model_dump(exclude_none=True, exclude_defaults=False) for u in users]}
    for entry in document["users"]:
        entry["roles"] = list(entry["roles"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return new_token
