from __future__ import annotations

from typing import TYPE_CHECKING, Any

from samtale.core import batching
from samtale.core.models import AuditLog

if TYPE_CHECKING:
    from samtale.accounts.models import Account, User


def audit(account: Account, actor: User | None, verb: str, obj: Any = None, **data: Any) -> AuditLog:
    entry = AuditLog(
        account=account,
        actor=actor if actor is not None and actor.pk else None,
        verb=verb,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "pk", None),
        data=data,
    )
    scope = batching.current()
    if scope is None:
        entry.save()
        return entry
    # in a batch: one INSERT for all its rows when it ends (same transaction, same times)
    scope.add("audit", entry, AuditLog.objects.bulk_create)
    return entry
