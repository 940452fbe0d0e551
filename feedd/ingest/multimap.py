"""Multimap: the index's maps of a key to a few values (article id → files, title key → full texts...)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class Multimap(Mapping[str, tuple[str, ...]]):
    """key → its values, given as a tuple. Nearly every key has one value, stored as the bare string: a
    container per key, for every article, is memory and objects the cycle collector walks, for nothing."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[str, str | tuple[str, ...]] = {}

    def __getitem__(self, key: str) -> tuple[str, ...]:
        values = self._map[key]
        return (values,) if type(values) is str else values

    def get(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...] | None:  # type: ignore[override]
        values = self._map.get(key)
        if values is None:
            return default
        return (values,) if type(values) is str else values

    def items(self) -> Iterator[tuple[str, tuple[str, ...]]]:  # type: ignore[override]
        for key, values in self._map.items():
            yield key, (values,) if type(values) is str else values

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def clear(self) -> None:
        self._map.clear()

    def add(self, key: str, value: str) -> None:
        values = self._map.get(key)
        if values is None:
            self._map[key] = value
        elif type(values) is str:
            if values != value:
                self._map[key] = (values, value)
        elif value not in values:
            self._map[key] = (*values, value)

    def discard(self, key: str, value: str) -> None:
        values = self._map.get(key)
        if values is None:
            return
        if type(values) is str:
            if values == value:
                del self._map[key]
            return
        if value in values:
            rest = tuple(v for v in values if v != value)
            self._map[key] = rest[0] if len(rest) == 1 else rest
