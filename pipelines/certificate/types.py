"""The table of certificate names and their aliases (``certificate_types.toml``)."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_TABLE = Path(__file__).with_name("certificate_types.toml")


def normalize_type_name(text: str) -> str:
    """NFKC, no whitespace or separators: how names are compared."""
    return re.sub(r"[\s+_\-·.]+", "", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True, slots=True)
class CertificateTypeTable:
    """Alias (normalised) to canonical name, and vague names to their candidates."""

    canonical: tuple[str, ...]
    aliases: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]
    #: page type -> its keywords (in the order they are tried) and the file-name types
    page_types: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    def lookup(self, text: str) -> str | None:
        return self.aliases.get(normalize_type_name(text))

    def candidates(self, text: str) -> tuple[str, ...]:
        return self.ambiguous.get(normalize_type_name(text), ())

    def page_type_of(self, canonical: str) -> str | None:
        """The page type a file-name type belongs to (医师执业证 -> 执业证书)."""
        for page_type, (_, types) in self.page_types.items():
            if canonical in types:
                return page_type
        return None


def _merge(
    data: dict,
    canonical: list[str],
    aliases: dict[str, str],
    ambiguous: dict[str, tuple[str, ...]],
    source: str,
    page_types: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> None:
    for name, entry in data.get("types", {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("aliases", []), list):
            raise ValueError(f"{source}: [types.{name!r}] needs aliases = [...]")
        if name not in canonical:
            canonical.append(name)
        for alias in [name, *entry.get("aliases", [])]:
            aliases[normalize_type_name(str(alias))] = name
    for name, choices in data.get("ambiguous", {}).items():
        ambiguous[normalize_type_name(name)] = tuple(str(c) for c in choices)
    for name, entry in data.get("page_types", {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("keywords"), list):
            raise ValueError(f"{source}: [page_types.{name!r}] needs keywords = [...]")
        if page_types is not None:
            page_types[name] = (
                tuple(normalize_type_name(str(k)) for k in entry["keywords"]),
                tuple(str(t) for t in entry.get("types", [])),
            )
    unknown = set(data) - {"types", "ambiguous", "page_types"}
    if unknown:
        raise ValueError(f"{source}: unknown sections {sorted(unknown)}")


@lru_cache(maxsize=8)
def load_certificate_types(extra_file: str | None = None) -> CertificateTypeTable:
    """The shipped table, extended (and overridden alias by alias) by ``extra_file``."""
    canonical: list[str] = []
    aliases: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    page_types: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    _merge(
        tomllib.loads(_TABLE.read_text(encoding="utf-8")),
        canonical,
        aliases,
        ambiguous,
        str(_TABLE),
        page_types,
    )
    if extra_file:
        path = Path(extra_file)
        _merge(
            tomllib.loads(path.read_text(encoding="utf-8")),
            canonical,
            aliases,
            ambiguous,
            str(path),
            page_types,
        )
    for key in list(ambiguous):
        if key in aliases:  # an explicit alias wins over "ambiguous"
            del ambiguous[key]
    return CertificateTypeTable(tuple(canonical), aliases, ambiguous, page_types)
