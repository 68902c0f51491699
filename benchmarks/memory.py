"""How big one child's state is: as JSON (what a changelog record carries) and in memory.

The in-memory figure walks the state object the replay engine holds for a child (its
fields, containers, strings, dates) and adds up `sys.getsizeof` of each object reached once:
what that child costs a process that keeps its state as Python objects. Objects shared by
every child (classes, functions, modules) are not counted; interned small values reached
from one child are, so the figure errs a little high. A state held as bytes is its length.
"""

import json
import sys
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any

ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None))


@dataclass(frozen=True)
class StateSize:
    json: int
    memory: int | None  # None: not measured (the walk is slow, so only a sample is walked)


def state_sizes(state: Any, *, deep: bool = True) -> StateSize:
    if isinstance(state, bytes | bytearray):
        return StateSize(json=len(state), memory=sys.getsizeof(state))
    document = state.to_dict() if hasattr(state, "to_dict") else state
    return StateSize(json=len(json.dumps(document, default=str)), memory=deep_size(state) if deep else None)


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of `obj` and of every object it reaches, each counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, type | FunctionType | ModuleType):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, ATOMS):
        return size
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(item, seen) for item in obj)
    if hasattr(obj, "__dict__"):
        size += deep_size(vars(obj), seen)
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if isinstance(slot, str) and hasattr(obj, slot):
                size += deep_size(getattr(obj, slot), seen)
    return size
