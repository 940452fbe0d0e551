"""feedd/ingest/multimap.py: a key's values as a tuple, a single one kept without a container."""

from __future__ import annotations

from feedd.ingest.multimap import Multimap


def test_the_index_multimap_keeps_single_values_without_a_container():
    """Nearly every article id has one file and every title key one article: at 100k articles a one-element tuple
    each was 11 MB, and 230k more objects for the cycle collector."""
    rels = Multimap()
    rels.add("id", "b.md")
    rels.add("id", "b.md")
    assert rels.get("id") == ("b.md",) and rels["id"] == ("b.md",)
    assert rels._map["id"] == "b.md"  # the bare string
    rels.add("id", "a.md")
    assert rels.get("id") == ("b.md", "a.md") and list(rels.items()) == [("id", ("b.md", "a.md"))]
    assert "id" in rels and list(rels) == ["id"] and dict(rels) == {"id": ("b.md", "a.md")}
    rels.discard("id", "b.md")
    assert rels._map["id"] == "a.md" and rels["id"] == ("a.md",)
    rels.discard("id", "zzz")
    rels.discard("other", "a.md")
    rels.discard("id", "a.md")
    assert rels.get("id") is None and rels.get("id", ()) == () and len(rels) == 0 and "id" not in rels
