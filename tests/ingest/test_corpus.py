"""load_corpus: the whole articles folder → articles and diagnostics; one bad file never sinks the others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedd.ingest import corpus as corpus_module
from feedd.pipeline import Builder
from tests.helpers import NOW, load_corpus, make_config, write_article

SEED_000 = "000_8e0c099ee215eaaa.txt"
SEED_001 = "001_381cd51ca3d3cff3.txt"
SEED_002 = "002_47f5c58027f9da5e.txt"
ORPHANS = ("003_f28eee4db9a1fff2.txt", "004_4c0e13e52566beb5.txt")


def load(folder: Path, **sections):
    return load_corpus(make_config(folder, **sections))


def by_source(corpus) -> dict:
    return {a.source: a for a in corpus.articles}


def about(corpus, path: str, level: str | None = None) -> list[str]:
    return [d.reason for d in corpus.diagnostics if d.path == path and (level is None or d.level == level)]


# --- the sample articles --------------------------------------------------------------------------------

def test_seeds_one_published_one_withheld(seeds_dir):
    corpus = load(seeds_dir)
    articles = by_source(corpus)
    assert set(articles) == {SEED_000, SEED_001}
    assert articles[SEED_000].published is True
    assert articles[SEED_000].title == "This Chinese Lab Is Aiming for Big AI Breakthroughs"
    assert articles[SEED_001].published is False
    assert [d for d in corpus.diagnostics if d.level == "error"] == []


def test_seed_full_text_becomes_body(seeds_dir):
    articles = by_source(load(seeds_dir))
    body = articles[SEED_000].body
    assert body.startswith("BAAI opened a year later")
    assert "This Chinese Lab Is Aiming" not in body.split("\n")[0]
    assert "\n\n" in body  # paragraphs preserved
    assert articles[SEED_001].body is None


def test_seed_orphan_texts_reported(seeds_dir):
    corpus = load(seeds_dir)
    assert corpus.orphans == 2
    for name in ORPHANS:
        warnings = about(corpus, name, "warning")
        assert len(warnings) == 1 and warnings[0].startswith("orphan text")
    assert about(corpus, SEED_002) == []
    assert not any(a.source in ORPHANS for a in corpus.articles)


def test_seed_mojibake_in_excerpt_repaired(seeds_dir):
    excerpt = by_source(load(seeds_dir))[SEED_001].excerpt
    assert "world’s 500" in excerpt and "â€" not in excerpt


def test_seed_unmapped_fields_and_extras(seeds_dir):
    article = by_source(load(seeds_dir))[SEED_000]
    assert article.provider.logo.endswith("wired.com-50x50.jpg")
    assert article.topics[:2] == ("AI Hardware", "AI")
    assert article.link == "https://www.wired.com/story/chinese-lab-aiming-big-ai-breakthroughs/"


# --- full texts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("first_line", [
    "Café Society",
    "  café   SOCIETY  ",
    "CafÃ© Society",  # mojibake
    "\n\n\nCafé Society",
])
def test_body_matching_ignores_case_spacing_and_mojibake(articles_dir, first_line):
    write_article(articles_dir, "a.md", title='"Café Society"')
    (articles_dir / "b.txt").write_text(f"{first_line}\n\nFirst paragraph.\n\nSecond paragraph.\n", encoding="utf-8")
    corpus = load(articles_dir)
    assert corpus.articles[0].body == "First paragraph.\n\nSecond paragraph."
    assert corpus.orphans == 0


def test_body_in_subfolder(articles_dir):
    write_article(articles_dir, "a.md", title='"Deep Thoughts"')
    folder = articles_dir / "texts" / "2021"
    folder.mkdir(parents=True)
    (folder / "deep.txt").write_text("Deep Thoughts\n\nNested body.\n", encoding="utf-8")
    corpus = load(articles_dir)
    assert corpus.articles[0].body == "Nested body."


def test_article_in_subfolder_named_by_relative_path(articles_dir):
    (articles_dir / "sub").mkdir()
    write_article(articles_dir / "sub", "a.md")
    assert [a.source for a in load(articles_dir).articles] == ["sub/a.md"]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_body_in_legacy_or_utf16_encoding_still_attached(articles_dir, encoding):
    write_article(articles_dir, "a.md", title='"Café Society"')
    (articles_dir / "b.txt").write_bytes("Café Society\n\nDéjà vu, it’s here.\n".encode(encoding))
    corpus = load(articles_dir)
    assert corpus.articles[0].body == "Déjà vu, it’s here."
    assert corpus.orphans == 0


def test_orphan_text_reported_and_published_nowhere(articles_dir):
    write_article(articles_dir, "a.md", title='"Known"')
    (articles_dir / "b.txt").write_text("Unknown title\n\nBody.\n", encoding="utf-8")
    corpus = load(articles_dir)
    assert corpus.articles[0].body is None
    assert about(corpus, "b.txt", "warning") == ["orphan text: first line 'Unknown title' is no article's title"]


def test_front_matter_body_kept_and_second_text_reported(articles_dir):
    path = write_article(articles_dir, "a.md", title='"Known"')
    path.write_text(path.read_text() + "Own body.\n", encoding="utf-8")
    (articles_dir / "b.txt").write_text("Known\n\nOther body.\n", encoding="utf-8")
    corpus = load(articles_dir)
    assert corpus.articles[0].body == "Own body."
    assert any("already has a full text" in r for r in about(corpus, "b.txt", "warning"))


# --- duplicates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("https://example.com/x", "http://example.com/x"),
    ("http://www.example.com/x/", "https://example.com/x#top"),
])
def test_same_link_first_path_kept_other_reported(articles_dir, first, second):
    write_article(articles_dir, "b.md", title='"Second"', webUrl=f'"{second}"')
    write_article(articles_dir, "a.md", title='"First"', webUrl=f'"{first}"')
    corpus = load(articles_dir)
    assert [(a.source, a.title) for a in corpus.articles] == [("a.md", "First")]
    warnings = about(corpus, "b.md", "warning")
    assert len(warnings) == 1 and "same link as a.md" in warnings[0]


# --- symlinks and special files -------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/etc/passwd", "outside"])
def test_symlink_to_file_outside_not_read(articles_dir, target):
    if target == "outside":
        target = write_article(articles_dir.parent, "outside.md", title='"Outside secret"')
    (articles_dir / "link.md").symlink_to(target)
    write_article(articles_dir, "real.md")
    corpus = load(articles_dir)
    assert [a.source for a in corpus.articles] == ["real.md"]
    errors = about(corpus, "link.md", "error")
    assert len(errors) == 1 and "outside the articles folder" in errors[0]
    assert "root:" not in repr(corpus) and "Outside secret" not in repr(corpus)


def test_symlinked_directory_outside_not_read(articles_dir):
    outside = articles_dir.parent / "elsewhere"
    outside.mkdir()
    write_article(outside, "x.md")
    (articles_dir / "dir").symlink_to(outside, target_is_directory=True)
    corpus = load(articles_dir)
    assert corpus.articles == []
    assert any("outside the articles folder" in r for r in about(corpus, "dir", "error"))


def test_symlink_inside_is_read(articles_dir):
    (articles_dir / "store").mkdir()
    write_article(articles_dir / "store", "real.md", title='"Linked"')
    (articles_dir / "texts.txt").symlink_to(articles_dir / "store" / "real.md")
    (articles_dir / "body.txt").write_text("Linked\n\nBody.\n", encoding="utf-8")
    (articles_dir / "alias").symlink_to("store", target_is_directory=True)
    corpus = load(articles_dir)
    # the same file seen three times: one article, the others reported as duplicates
    assert [a.title for a in corpus.articles] == ["Linked"]
    assert corpus.articles[0].body == "Body."
    assert all("outside" not in d.reason for d in corpus.diagnostics)


@pytest.mark.parametrize("make", ["self-loop", "mutual-loop", "dangling", "dir-loop-parent", "dir-loop-self"])
def test_symlink_loops_and_dangling_links_do_not_crash(articles_dir, make):
    if make == "self-loop":
        (articles_dir / "loop.md").symlink_to(articles_dir / "loop.md")
    elif make == "mutual-loop":
        (articles_dir / "a.lnk").symlink_to(articles_dir / "b.lnk")
        (articles_dir / "b.lnk").symlink_to(articles_dir / "a.lnk")
    elif make == "dangling":
        (articles_dir / "gone.md").symlink_to(articles_dir / "missing.md")
    elif make == "dir-loop-parent":
        (articles_dir / "sub").mkdir()
        (articles_dir / "sub" / "up").symlink_to("..", target_is_directory=True)
    else:
        (articles_dir / "me").symlink_to(".", target_is_directory=True)
    write_article(articles_dir, "real.md")
    corpus = load(articles_dir)
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert all(d.path != "real.md" for d in corpus.diagnostics)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_reported(articles_dir):
    path = write_article(articles_dir, "locked.md")
    path.chmod(0)
    write_article(articles_dir, "real.md")
    corpus = load(articles_dir)
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert any("skipped" in r for r in about(corpus, "locked.md", "error"))


def test_unreadable_directory_does_not_stop_the_others(articles_dir):
    locked = articles_dir / "locked"
    locked.mkdir()
    write_article(locked, "x.md")
    locked.chmod(0)
    write_article(articles_dir, "real.md")
    try:
        corpus = load(articles_dir)
    finally:
        locked.chmod(0o755)
    assert "real.md" in [a.source for a in corpus.articles]


def test_file_over_size_limit_reported_others_kept(articles_dir):
    big = write_article(articles_dir, "big.md")
    big.write_text(big.read_text() + "x" * 5000, encoding="utf-8")
    write_article(articles_dir, "real.md")
    corpus = load(articles_dir, limits={"max_file_bytes": 1000})
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert any("limit" in r for r in about(corpus, "big.md", "error"))
    assert corpus.rejected == 1


# --- isolation ------------------------------------------------------------------------------------------

BROKEN = {
    "never-closed.md": b"---\ntitle: x\n",
    "invalid.md": b"---\ntitle: [unclosed\n---\n",
    "deep.md": b"---\nx: " + b"[']', " * 200 + b"\n---\n",
    "python.md": b"---\nx: !!python/object/apply:os.system ['true']\n---\n",
    "binary.md": b"\x00" * 1000,
    "list.md": b"---\n- a\n---\n",
    "bad-date.md": b"---\ntitle: t\nwebUrl: https://e.com/d\npublishedDateTime: 2021-02-30\n---\n",
    "bad-port.md": b"---\ntitle: t\nwebUrl: https://e.com:99999/p\npublishedDateTime: 2021-01-01T00:00:00Z\n---\n",
    "no-title.md": b"---\nwebUrl: https://e.com/t\npublishedDateTime: 2021-01-01T00:00:00Z\n---\n",
}


def test_one_broken_file_never_removes_the_others(articles_dir):
    write_article(articles_dir, "good-1.md")
    for name, data in BROKEN.items():
        (articles_dir / name).write_bytes(data)
    write_article(articles_dir, "z-good-2.md")
    corpus = load(articles_dir)
    assert [a.source for a in corpus.articles] == ["good-1.md", "z-good-2.md"]
    for name in BROKEN:
        assert about(corpus, name, "error"), name
    assert corpus.rejected == len(BROKEN)


def test_empty_file_reported(articles_dir):
    (articles_dir / "empty.md").write_text("\n  \n", encoding="utf-8")
    corpus = load(articles_dir)
    assert about(corpus, "empty.md", "warning") == ["skipped: empty file"]


@pytest.mark.parametrize("make", ["missing", "file"])
def test_articles_folder_missing_is_one_error(tmp_path, make):
    folder = tmp_path / "nowhere"
    if make == "file":
        folder.write_text("not a folder", encoding="utf-8")
    corpus = load(folder)
    assert corpus.articles == []
    assert len(corpus.diagnostics) == 1
    diagnostic = corpus.diagnostics[0]
    assert diagnostic.level == "error" and str(folder) in diagnostic.path and "does not exist" in diagnostic.reason


def test_dangling_symlink_reported(articles_dir):
    (articles_dir / "gone.md").symlink_to(articles_dir / "missing.md")
    write_article(articles_dir, "real.md")
    corpus = load(articles_dir)
    assert [a.source for a in corpus.articles] == ["real.md"]
    assert any("does not exist" in r for r in about(corpus, "gone.md", "error"))


# --- a folder that cannot be read keeps its articles (root can read anything: the refusal is simulated) --

@pytest.fixture
def unreadable(monkeypatch):
    """unreadable(folder) makes listing that folder fail as it does without permission; unreadable(None) undoes."""
    real = os.listdir
    locked: set[str] = set()

    def listdir(path="."):
        if os.fspath(path) in locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(corpus_module.os, "listdir", listdir)

    def lock(folder: Path | None) -> None:
        locked.clear()
        if folder is not None:
            locked.add(str(folder.resolve()))

    return lock


@pytest.mark.parametrize("watcher", [False, True], ids=["rescan", "watcher-event"])
def test_unreadable_folder_keeps_its_articles_and_is_reported(articles_dir, unreadable, watcher):
    sub = articles_dir / "sub"
    sub.mkdir()
    write_article(sub, "inside.md", title='"Inside"')
    write_article(articles_dir, "real.md", title='"Outside"')
    builder = Builder(make_config(articles_dir), workers=1)
    try:
        builder.build(NOW)
        unreadable(sub)
        report = builder.build(NOW, paths={str(sub)} if watcher else None)
        assert report.articles["published"] == 2
        assert any(d.path == "sub" and "cannot read this folder" in d.reason and d.level == "error"
                   for d in report.diagnostics)
        assert b"Inside" in (articles_dir.parent / "public/feeds/all.rss").read_bytes()
        unreadable(None)
        report = builder.build(NOW)
        assert report.articles["published"] == 2 and not [d for d in report.diagnostics if d.path == "sub"]
    finally:
        builder.close()


def test_unreadable_articles_folder_keeps_every_article(articles_dir, unreadable):
    write_article(articles_dir, "real.md", title='"Outside"')
    builder = Builder(make_config(articles_dir), workers=1)
    try:
        builder.build(NOW)
        unreadable(articles_dir)
        report = builder.build(NOW)
        assert report.articles["published"] == 1
        assert any("cannot read this folder" in d.reason for d in report.diagnostics)
    finally:
        builder.close()
