"""The index page and the previews on a phone: no horizontal scroll at 390 px, in headless Chromium.

Headless Chromium's window is at least 500 px wide, so each page is opened in a 390 px wide iframe (a
phone's viewport, as `width=device-width` gives it) and its scroll width compared with its width.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from feedd.pipeline import build
from tests.helpers import NOW, make_config, write_article

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")]

LONG = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"


def overflow(pages: list[Path], width: int = 390) -> dict[str, tuple[int, int]]:
    """Each page's (scroll width, width) in a `width` px wide frame: the first larger means a sideways scroll."""
    frames = "".join(f'<iframe src="{page.as_uri()}" width="{width}" height="844"></iframe>' for page in pages)
    wrapper = pages[0].parent / ".phone.html"
    wrapper.write_text(f"""<!doctype html><body>{frames}<script>
      var frames = document.querySelectorAll("iframe"), seen = {{}};
      frames.forEach(function (f) {{ f.onload = function () {{
        var d = f.contentDocument.documentElement;
        seen[f.src] = [d.scrollWidth, d.clientWidth];
        if (Object.keys(seen).length === frames.length) document.body.dataset.seen = JSON.stringify(seen);
      }}; }});
    </script></body>""", encoding="utf-8")
    try:
        dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                              "--virtual-time-budget=10000", "--window-size=1200,900", "--dump-dom", wrapper.as_uri()],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    finally:
        wrapper.unlink()
    found = re.search(r'data-seen="([^"]*)"', dom)
    assert found, dom[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"'))
    return {Path(src.removeprefix("file://")).name: tuple(size) for src, size in seen.items()}


def test_pages_with_long_names_fit_a_390_px_phone(seeds_dir: Path, tmp_path: Path):
    write_article(seeds_dir, "long.md", title=f'"{LONG} {LONG}"', heat="1234567",
                  excerpt=f'"{LONG}{LONG}"', topics=f"[{LONG}, AI]", category="News",
                  provider="{name: " + LONG + ", domain: averyveryverylongdomainnameforanewspaper-online.co.uk}",
                  images='[{url: "https://example.com/wide.jpg", width: 4000, height: 1000}]')
    config = make_config(seeds_dir, tmp_path / "public", site={"title": "Donaudampfschifffahrtsgesellschaft"},
                         feeds=[{"name": "hot", "sort": "heat"}])
    assert build(config, NOW).ok
    out = tmp_path / "public"
    pages = [out / "index.html", out / "feeds/hot.html", *(out / "feeds/topics").glob("donau*.html")]
    sizes = overflow(pages)
    assert len(sizes) == 3
    assert {name: size for name, size in sizes.items() if size[0] > size[1]} == {}
