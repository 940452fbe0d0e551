"""urls: any text → an absolute http(s) URL that RFC 3986 accepts as it is, or None and the problem."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedd.urls import clean_url, domain_url
from tests.helpers import url_problem

SETTINGS = settings(max_examples=400, derandomize=True, database=None, deadline=None)
URL_CHARACTERS = "/?#%:@!$&'()*+,;=~-._aZ09 \"<>\\^`{|}[]éü\u00a0\u2028\t"
texts = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
                  st.text(st.sampled_from(list(URL_CHARACTERS)), max_size=30))
good = st.sampled_from(["https://x.io", "http://X.IO:8080", "HTTPS://[::1]", "https://u:p%41@x.io", "https://x.io:",
                        "https://bücher.example", "https://例え.jp"])
anything = st.sampled_from(["https://", "http://", "ftp://", "//", "javascript:", "", "https://x.io\\", "https://[::g]",
                            "https://a b", "https://☃.net", "https://x.io:99999", "https://a@b@x.io"])
NO_ENCODING_SAVES = re.compile("[\x00-\x1f\x7f-\x9f\\\\]")


def check(text: str) -> str | None:
    url, problem = clean_url(text)
    if url is not None:
        assert problem == "" and url_problem(url) is None, (text, url, url_problem(url))
        assert clean_url(url) == (url, ""), "cleaning twice changes nothing"
    return url


@SETTINGS
@given(good, st.sampled_from(["/", "?", "#", "/a?", "/a#"]), texts)
def test_after_a_good_host_anything_is_encoded_not_dropped(authority, mark, rest):
    url = check(authority + mark + rest)
    assert (url is None) == bool(NO_ENCODING_SAVES.search(rest)), (authority + mark + rest, url)


@SETTINGS
@given(anything, texts)
def test_whatever_is_written_a_url_comes_out_valid_and_stable_or_not_at_all(start, rest):
    check(start + rest)


@pytest.mark.parametrize("domain, home", [
    ("wired.com", "https://wired.com/"), ("exa_mple.co.uk", "https://exa_mple.co.uk/"),
    ("bücher.example", "https://xn--bcher-kva.example/"), ("faß.de", "https://xn--fa-hia.de/"),
    ("exa_mple.例え.jp", None), ("☃.net", None), ("a b", None),
])
def test_a_domain_home_page_is_a_uri(domain, home):
    assert domain_url(domain) == home
