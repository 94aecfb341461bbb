"""``from loadprofile.users import ChatUser``: the import locustfiles copy (kept where it was
before the engine package); the user classes live in ``loadprofile.engine.users``."""

from loadprofile.engine.users import ChatUser, RunChatUser

__all__ = ["ChatUser", "RunChatUser"]
