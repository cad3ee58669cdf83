"""Erasure hooks: any app may act on customers about to be erased, before they are gone.

Like the step-kind registry, this module knows no app that registers here (the
Audience Sync step registers from its AppConfig.ready()). A hook receives the
whole set of customers being erased as a QuerySet, runs set-based queries on it
and runs inside the erasing transaction: if a hook raises, nothing is erased.
There are no per-row signals.
"""

from collections.abc import Callable

from django.db.models import QuerySet

from canvas.models import Customer, Workspace

ErasureHook = Callable[..., None]  # hook(*, workspace: Workspace, customers: QuerySet[Customer])

_hooks: list[ErasureHook] = []


def register_erasure_hook(hook: ErasureHook) -> ErasureHook:
    """Call `hook(workspace=…, customers=…)` before any customers are erased (once per hook)."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def unregister_erasure_hook(hook: ErasureHook) -> None:
    """Stop calling a hook (tests add their own and take them away again)."""
    if hook in _hooks:
        _hooks.remove(hook)


def erasure_hooks_run(*, workspace: Workspace, customers: QuerySet[Customer]) -> None:
    """Give every registered hook the customers about to be erased; call inside the transaction."""
    for hook in list(_hooks):
        hook(workspace=workspace, customers=customers)
