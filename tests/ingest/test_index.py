"""feedd/ingest/index.py: files → articles, kept current one refresh at a time, persisted across restarts."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest

from feedd.config import Config
from feedd.ingest import index as index_module
from feedd.ingest.index import ArticleIndex
from tests.helpers import make_config, write_article


@pytest.fixture
def config(articles_dir: Path) -> Config:
    return make_config(articles_dir)


@pytest.fixture
def open_index(config: Config):
    """open_index(persist=..., workers=...) → an ArticleIndex over the articles folder, closed after the test."""
    opened: list[ArticleIndex] = []

    def open_(persist: bool = False, workers: int = 1) -> ArticleIndex:
        opened.append(ArticleIndex(config, persist=persist, workers=workers))
        return opened[-1]

    yield open_
    for index in opened:
        index.close()


def titles(index: ArticleIndex) -> dict[str, str]:
    """source file → title of every article feeds see."""
    return {a.source: a.title for a in index.articles()}


def text(folder: Path, name: str, content: str) -> Path:
    """A plain-text file (no front matter): a full text whose first line names its article."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def touch_later(path: Path) -> None:
    """Give a file a different mtime, as an editor's save does (same size and inode otherwise)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def messages(index: ArticleIndex) -> list[str]:
    return [str(d) for d in index.diagnostics()]


# -- refresh of the whole folder ---------------------------------------------------------------------------

def test_a_full_refresh_reads_every_file_then_only_what_changed(articles_dir: Path, open_index):
    write_article(articles_dir, "a.md", title='"Alpha"')
    write_article(articles_dir, "b.md", title='"Beta"')
    (articles_dir / "sub").mkdir()
    write_article(articles_dir / "sub", "c.md", title='"Gamma"')
    index = open_index()
    changes = index.refresh()
    assert changes.changed == {"a.md", "b.md", "sub/c.md"} and changes.removed == set()
    assert titles(index) == {"a.md": "Alpha", "b.md": "Beta", "sub/c.md": "Gamma"}

    assert index.refresh().changed == set()  # nothing changed: nothing parsed again, nothing to re-rank
    write_article(articles_dir, "a.md", title='"Alpha, edited"')
    touch_later(articles_dir / "a.md")
    (articles_dir / "b.md").unlink()
    changes = index.refresh()
    assert (changes.changed, changes.removed) == ({"a.md"}, {"b.md"})
    assert titles(index) == {"a.md": "Alpha, edited", "sub/c.md": "Gamma"}
    assert len(changes.ids) == 2  # the edited article and the removed one: their feeds are re-ranked


def test_a_missing_articles_folder_keeps_every_article(articles_dir: Path, open_index):
    """Deleted or unmounted for a moment: feeds stay as they were (the build reports the folder)."""
    write_article(articles_dir, "a.md", title='"Alpha"')
    index = open_index()
    index.refresh()
    articles_dir.rename(articles_dir.with_name("away"))
    changes = index.refresh()
    assert (changes.changed, changes.removed) == (set(), set())
    assert titles(index) == {"a.md": "Alpha"}


# -- refresh of given paths ---------------------------------------------------------------------------------

def test_a_refresh_of_given_paths_looks_at_those_alone(articles_dir: Path, open_index):
    write_article(articles_dir, "a.md", title='"Alpha"')
    index = open_index()
    index.refresh()
    named = write_article(articles_dir, "named.md", title='"Named"')
    write_article(articles_dir, "unnamed.md", title='"Not named"')
    changes = index.refresh([str(named)])
    assert changes.changed == {"named.md"}
    assert "unnamed.md" not in titles(index)  # the next full refresh finds it
    assert index.refresh().changed == {"unnamed.md"}


def test_a_refresh_of_given_paths_skips_unchanged_files(articles_dir: Path, open_index):
    path = write_article(articles_dir, "a.md", title='"Alpha"')
    index = open_index()
    index.refresh()
    assert index.refresh([str(path)]).changed == set()  # an event without a change (e.g. a close after reading)


def test_a_refresh_of_given_paths_handles_deleted_files_and_folders(articles_dir: Path, open_index):
    (articles_dir / "sub" / "deep").mkdir(parents=True)
    write_article(articles_dir, "a.md", title='"Alpha"')
    write_article(articles_dir / "sub", "b.md", title='"Beta"')
    write_article(articles_dir / "sub" / "deep", "c.md", title='"Gamma"')
    write_article(articles_dir, "subway.md", title='"Not in sub/"')
    index = open_index()
    index.refresh()
    (articles_dir / "a.md").unlink()
    assert index.refresh([str(articles_dir / "a.md")]).removed == {"a.md"}
    for path in sorted((articles_dir / "sub").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (articles_dir / "sub").rmdir()
    changes = index.refresh([str(articles_dir / "sub")])  # the folder's own event names only the folder
    assert changes.removed == {"sub/b.md", "sub/deep/c.md"}
    assert titles(index) == {"subway.md": "Not in sub/"}


def test_a_refresh_of_a_new_or_moved_folder_reads_everything_in_it(articles_dir: Path, open_index):
    index = open_index()
    index.refresh()
    staging = articles_dir.parent / "staging"
    (staging / "deep").mkdir(parents=True)
    write_article(staging, "b.md", title='"Beta"')
    write_article(staging / "deep", "c.md", title='"Gamma"')
    moved = articles_dir / "batch"
    staging.rename(moved)  # moved in: one event, for the folder
    assert index.refresh([str(moved)]).changed == {"batch/b.md", "batch/deep/c.md"}
    (moved / "deep" / "c.md").unlink()
    write_article(moved, "d.md", title='"Delta"')
    changes = index.refresh([str(moved)])  # a folder named again: what left it is removed, what came is read
    assert (changes.changed, changes.removed) == ({"batch/d.md"}, {"batch/deep/c.md"})


def test_paths_outside_the_folder_and_ignored_names_are_not_read(articles_dir: Path, open_index, tmp_path: Path):
    index = open_index()
    index.refresh()
    outside = write_article(tmp_path, "outside.md", title='"Outside"')
    swap = write_article(articles_dir, ".a.md.swp", title='"Editor leftover"')
    backup = write_article(articles_dir, "a.md~", title='"Editor backup"')
    changes = index.refresh([str(outside), str(swap), str(backup), str(articles_dir)])
    assert changes.changed == set() and index.articles() == []


# -- duplicate ids ---------------------------------------------------------------------------------------------

SAME = '"https://example.com/same-story"'


def test_two_files_with_one_link_keep_the_one_whose_path_sorts_first(articles_dir: Path, open_index):
    write_article(articles_dir, "b.md", title='"Second"', webUrl=SAME)
    index = open_index()
    index.refresh()
    assert list(titles(index).values()) == ["Second"]
    write_article(articles_dir, "a.md", title='"First"', webUrl=SAME)
    write_article(articles_dir, "c.md", title='"Third"', webUrl=SAME)
    index.refresh()
    assert titles(index) == {"a.md": "First"}  # whatever order the files came in
    assert [m for m in messages(index) if "same link" in m] == [
        "b.md: warning: ignored: same link as a.md, which is kept",
        "c.md: warning: ignored: same link as a.md, which is kept"]
    (articles_dir / "a.md").unlink()
    index.refresh([str(articles_dir / "a.md")])
    assert titles(index) == {"b.md": "Second"}  # the next in path order takes over
    (articles_dir / "b.md").unlink()
    (articles_dir / "c.md").unlink()
    index.refresh()
    assert index.articles() == [] and not [m for m in messages(index) if "same link" in m]


def test_the_winner_of_one_link_is_the_same_after_a_restart(articles_dir: Path, open_index):
    for name, title in (("b.md", "Second"), ("a.md", "First"), ("c.md", "Third")):
        write_article(articles_dir, name, title=f'"{title}"', webUrl=SAME)
    index = open_index(persist=True)
    index.refresh()
    index.close()
    restarted = open_index(persist=True)
    assert titles(restarted) == {"a.md": "First"}  # loaded from the state database, before any refresh
    assert restarted.refresh().changed == set()


# -- full texts -----------------------------------------------------------------------------------------------

def test_a_full_text_is_matched_to_its_article_by_title(articles_dir: Path, open_index):
    write_article(articles_dir, "a.md", title='"Robots Arrive In Town"')
    text(articles_dir, "texts/robots.txt", "  robots   arrive in TOWN \n\nFirst paragraph.\n\nSecond one.\n")
    index = open_index()
    index.refresh()
    (article,) = index.articles()
    assert article.body is None  # feeds' selection never holds bodies in memory
    assert index.full(article, with_body=True).body == "First paragraph.\n\nSecond one."
    assert index.full(article).body is None  # a summary feed does not read it
    assert index.counts() == (0, 0)


def test_an_article_s_own_body_wins_over_a_separate_full_text(articles_dir: Path, open_index):
    own = write_article(articles_dir, "a.md", title='"Robots"')
    own.write_text(own.read_text(encoding="utf-8") + "Its own text.\n", encoding="utf-8")
    text(articles_dir, "robots.txt", "Robots\n\nAnother text.\n")
    index = open_index()
    index.refresh()
    (article,) = index.articles()
    assert index.full(article, with_body=True).body == "Its own text."
    assert "robots.txt: warning: ignored: a.md already has a full text" in messages(index)


def test_of_two_full_texts_for_one_article_the_first_path_is_used(articles_dir: Path, open_index):
    write_article(articles_dir, "a.md", title='"Robots"')
    text(articles_dir, "z.txt", "Robots\n\nThe later text.\n")
    text(articles_dir, "m.txt", "Robots\n\nThe first text.\n")
    index = open_index()
    index.refresh()
    (article,) = index.articles()
    assert index.full(article, with_body=True).body == "The first text."
    assert "z.txt: warning: ignored: a.md already has a full text" in messages(index)


def test_a_full_text_that_arrives_after_its_article_is_found(articles_dir: Path, open_index):
    write_article(articles_dir, "a.md", title='"Robots"')
    index = open_index()
    index.refresh()
    (article,) = index.articles()
    assert index.full(article, with_body=True).body is None
    before = index.digest(article)
    body = text(articles_dir, "robots.txt", "Robots\n\nThe text, at last.\n")
    changes = index.refresh([str(body)])
    assert changes.ids == {article.id}  # its feeds are rendered again, though the article's file is the same
    assert index.digest(article) != before
    assert index.full(article, with_body=True).body == "The text, at last."


def test_an_edited_full_text_changes_the_article_s_digest_and_body(articles_dir: Path, open_index):
    """The digest is what tells a build that a full-text feed must be rendered again."""
    write_article(articles_dir, "a.md", title='"Robots"')
    body = text(articles_dir, "robots.txt", "Robots\n\nFirst version.\n")
    index = open_index()
    index.refresh()
    (article,) = index.articles()
    before = index.digest(article)
    assert index.full(article, with_body=True).body == "First version."
    body.write_text("Robots\n\nSecond, longer version.\n", encoding="utf-8")
    changes = index.refresh([str(body)])
    assert changes.ids == {article.id}  # the article's feeds are looked at again, though its own file is the same
    (article,) = index.articles()
    assert index.digest(article) != before
    assert index.full(article, with_body=True).body == "Second, longer version."


# -- counts ---------------------------------------------------------------------------------------------------

def test_orphan_texts_are_counted_as_articles_come_and_go(articles_dir: Path, open_index):
    text(articles_dir, "robots.txt", "Robots\n\nA text whose article is not there yet.\n")
    text(articles_dir, "robots-copy.txt", "ROBOTS\n\nAnother.\n")
    text(articles_dir, "lonely.txt", "Nobody's title\n\nText.\n")
    index = open_index()
    index.refresh()
    assert index.counts() == (0, 3)
    assert "lonely.txt: warning: orphan text: first line \"Nobody's title\" is no article's title" in messages(index)
    article = write_article(articles_dir, "a.md", title='"Robots"')
    index.refresh([str(article)])
    assert index.counts() == (0, 1)  # both texts now belong to an article (one is reported as ignored)
    write_article(articles_dir, "a.md", title='"Robots, renamed"')
    touch_later(article)
    index.refresh([str(article)])
    assert index.counts() == (0, 3)  # the title no longer matches: orphans again
    article.unlink()
    (articles_dir / "lonely.txt").unlink()
    index.refresh()
    assert index.counts() == (0, 2)


def test_rejected_files_are_counted_and_forgotten_when_fixed(articles_dir: Path, open_index):
    broken = write_article(articles_dir, "broken.md", title='"No link"', webUrl=None)
    write_article(articles_dir, "good.md", title='"Fine"')
    index = open_index()
    index.refresh()
    assert index.counts() == (1, 0)
    assert any(m.startswith("broken.md: error:") for m in messages(index))
    write_article(articles_dir, "broken.md", title='"Now linked"')
    touch_later(broken)
    index.refresh([str(broken)])
    assert index.counts() == (0, 0)
    assert sorted(titles(index).values()) == ["Fine", "Now linked"]


def test_counts_after_a_restart_equal_the_running_counts(articles_dir: Path, open_index):
    write_article(articles_dir, "broken.md", title='"No link"', webUrl=None)
    write_article(articles_dir, "a.md", title='"Robots"')
    text(articles_dir, "robots.txt", "Robots\n\nBody.\n")
    text(articles_dir, "lonely.txt", "Nobody's title\n\nText.\n")
    index = open_index(persist=True)
    index.refresh()
    running = (index.counts(), index.open_diagnostics, messages(index))
    index.close()
    restarted = open_index(persist=True)
    assert (restarted.counts(), restarted.open_diagnostics, messages(restarted)) == running
    assert running[0] == (1, 1)


# -- diagnostics --------------------------------------------------------------------------------------------

def test_folder_diagnostics_are_kept_until_a_file_changes(articles_dir: Path, open_index, monkeypatch):
    write_article(articles_dir, "a.md", title='"Alpha"', webUrl=SAME)
    write_article(articles_dir, "b.md", title='"Beta"', webUrl=SAME)
    index = open_index()
    index.refresh()
    made = []
    real = index_module.folder_diagnostics
    monkeypatch.setattr(index_module, "folder_diagnostics", lambda index: made.append(1) or real(index))
    first = messages(index)
    assert first == ["b.md: warning: ignored: same link as a.md, which is kept"]
    index.refresh()
    index.refresh([str(articles_dir / "a.md")])  # an event without a change
    assert messages(index) == first
    assert len(made) == 1  # sorted once, not on every no-op rescan
    index.diagnostics().clear()  # a caller's copy: the kept list is not changed by it
    assert messages(index) == first
    (articles_dir / "b.md").unlink()
    index.refresh()
    assert messages(index) == []
    assert len(made) == 2


def test_the_running_open_count_and_a_change_s_diagnostics_follow_every_change(articles_dir: Path, open_index):
    """open_count() is kept current without listing the folder's diagnostics; after each change it must equal
    the warnings and errors diagnostics() lists, and diagnostics_of(changes) must hold what the change caused."""
    index = open_index()

    def step(paths=None) -> list[str]:
        changes = index.refresh(paths)
        everything = index.diagnostics()
        assert index.open_count() == sum(d.level != "info" for d in everything)
        of_change = [str(d) for d in index.diagnostics_of(changes)]
        assert set(of_change) <= {str(d) for d in everything}
        return of_change

    step()
    write_article(articles_dir, "a.md", title='"Robots"', webUrl=SAME)
    step()
    copy = write_article(articles_dir, "b.md", title='"Robots again"', webUrl=SAME)
    assert step([str(copy)]) == ["b.md: warning: ignored: same link as a.md, which is kept"]
    first = text(articles_dir, "t1.txt", "Robots\n\nOne.\n")
    step([str(first)])
    second = text(articles_dir, "t2.txt", "Robots\n\nTwo.\n")
    assert "t2.txt: warning: ignored: a.md already has a full text" in step([str(second)])
    lonely = text(articles_dir, "lonely.txt", "Nobody\n\nText.\n")
    step([str(lonely)])
    broken = write_article(articles_dir, "broken.md", title='"No link"', webUrl=None)
    step([str(broken)])
    space_texts = [text(articles_dir, f"space{n}.txt", f"Space\n\nText {n}.\n") for n in (1, 2)]
    step([str(p) for p in space_texts])  # two orphans...
    space = write_article(articles_dir, "space.md", title='"Space"')
    assert step([str(space)]) == ["space2.txt: warning: ignored: space.md already has a full text"]  # ...one used
    (articles_dir / "a.md").unlink()  # b.md wins now; the texts are orphans (b.md has another title)
    step([str(articles_dir / "a.md")])
    assert index.counts() == (1, 3)
    for path in (copy, first, second, lonely, broken, space, *space_texts):
        path.unlink()
    step()
    assert index.open_count() == 0 and index.diagnostics() == []


# -- a restart -------------------------------------------------------------------------------------------------

def test_a_restart_compares_the_folder_ahead_and_finds_what_changed_while_stopped(articles_dir: Path, open_index):
    for name in ("a", "b", "c"):
        write_article(articles_dir, f"{name}.md", title=f'"{name.upper()}"')
    index = open_index(persist=True, workers=2)
    index.refresh()
    index.close()
    write_article(articles_dir, "b.md", title='"B, edited while stopped"')
    touch_later(articles_dir / "b.md")
    (articles_dir / "c.md").unlink()
    write_article(articles_dir, "d.md", title='"D, new"')
    restarted = open_index(persist=True, workers=2)
    assert restarted._ahead is not None  # compared in another process while the index loaded
    changes = restarted.refresh()
    assert (changes.changed, changes.removed) == ({"b.md", "d.md"}, {"c.md"})
    assert titles(restarted) == {"a.md": "A", "b.md": "B, edited while stopped", "d.md": "D, new"}
    write_article(articles_dir, "e.md", title='"E, later"')
    assert restarted.refresh().changed == {"e.md"}  # the second refresh lists the folder again


@pytest.mark.parametrize("persist, workers, indexed", [(True, 1, True), (False, 2, True), (True, 2, False)])
def test_no_comparison_ahead_where_it_cannot_help(articles_dir: Path, open_index, persist, workers, indexed):
    """One worker, an in-memory index (nothing to read from another process) or an empty one: none."""
    write_article(articles_dir, "a.md", title='"Alpha"')
    if indexed:
        first = open_index(persist=persist)
        first.refresh()
        first.close()
    index = open_index(persist=persist, workers=workers)
    assert index._ahead is None
    assert index.refresh().changed == ({"a.md"} if not persist or not indexed else set())


def _comparison_fails(root, path):
    raise RuntimeError("the helper process could not list the folder")


def test_a_failed_comparison_ahead_lists_the_folder_again(articles_dir: Path, open_index, monkeypatch, caplog):
    write_article(articles_dir, "a.md", title='"Alpha"')
    index = open_index(persist=True)
    index.refresh()
    index.close()
    write_article(articles_dir, "b.md", title='"Beta"')
    monkeypatch.setattr(index_module, "compare_with_index", _comparison_fails)
    with caplog.at_level(logging.WARNING, logger="feedd"):
        restarted = open_index(persist=True, workers=2)
    assert "listing it again" in caplog.text
    assert restarted.refresh().changed == {"b.md"}


@pytest.mark.parametrize("damage", ["garbage records", "another shape, signatures intact"])
def test_an_unreadable_index_is_started_over_with_no_comparison_ahead(articles_dir: Path, open_index, caplog,
                                                                      damage: str):
    """A comparison made against records the index cannot load would say the files are unchanged: it must be
    dropped with them, or those files would never be read again."""
    write_article(articles_dir, "a.md", title='"Alpha"')
    index = open_index(persist=True)
    index.refresh()
    if damage == "garbage records":
        index.store._db.execute("UPDATE files SET record = x'00'")
    else:  # an older record format that begins with the file's signature, as today's does
        signature = index.files["a.md"].signature
        index.store._db.execute("UPDATE files SET record = ?", (pickle.dumps((signature, "older")),))
    index.close()
    with caplog.at_level(logging.WARNING, logger="feedd"):
        restarted = open_index(persist=True, workers=2)
    assert "unreadable; rebuilding it" in caplog.text
    assert restarted._ahead is None and restarted.articles() == []
    assert restarted.refresh().changed == {"a.md"}  # everything parsed again
    assert titles(restarted) == {"a.md": "Alpha"}
