"""Who is behind a command, in the words the command history keeps."""

from __future__ import annotations

from homeassistant.auth.models import User
from homeassistant.core import Context


def user_caller(user: User) -> str:
    """A Home Assistant user."""
    return f"user {user.name} ({user.id})" if user.name else f"user {user.id}"


def context_caller(context: Context | None) -> str | None:
    """Who is behind a service call or an entity action."""
    if context is None:
        return None
    if context.user_id:
        return f"user {context.user_id}"
    return "automation or script" if context.parent_id else None
