"""Only logged-in reviewers can write to a `--writable` server (issue 14, part 1).

Through Datasette's own test client on a real store: login by datasette-auth-passwords
with an account made by `rpp serve --add-user`, the actor as the reviewer, CSRF refused
with and without cookies, the Host allowlist, frame headers, `next=` redirects, and the
SQL function ration.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette
from datasette_sample import build_sample_store, labels

from rppsearch.web import accounts, sqlfuncs, stores
from rppsearch.web.review import safe_next

SECRET = "test-secret"
PASSWORD = "correct horse battery"
TARGET, DIM = "tulsa-supervisors-p0000", "learning-partnerships"
SEARCH = "/-/rpp-search?" + urllib.parse.urlencode({"q": "principal supervisors", "mode": "bm25"})


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir)


@pytest.fixture
def writable_ds(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Datasette:
    """A writable server with one reviewer account, `ana`, in reviewers.json beside the store."""
    accounts.add_reviewer(accounts.reviewers_path(db_path.parent), name="ana", password=PASSWORD)
    monkeypatch.setenv(stores.WRITABLE_ENV, "1")
    monkeypatch.delenv(stores.ALLOWED_HOSTS_ENV, raising=False)
    monkeypatch.delenv(stores.REVIEWERS_ENV, raising=False)
    return Datasette([str(db_path)], secret=SECRET)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _token(html: str) -> str:
    match = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert match, "no form with a CSRF token on the page"
    return match.group(1)


async def _login(ds: Datasette, name: str = "ana", password: str = PASSWORD) -> dict[str, str]:
    """Log in through the plugin's /-/login form; return the cookies a browser would keep."""
    page = await ds.client.get("/-/login")
    cookies = {"ds_csrftoken": page.cookies["ds_csrftoken"]}
    response = await ds.client.post(
        "/-/login", data={"username": name, "password": password, "csrftoken": _token(page.text)}, cookies=cookies
    )
    if "ds_actor" in response.cookies:
        cookies["ds_actor"] = response.cookies["ds_actor"]
    return cookies



def test_add_user_stores_a_hash_not_the_password_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "reviewers.json"
    assert accounts.add_reviewer(path, name="ana", password=PASSWORD) is True
    assert accounts.add_reviewer(path, name="ana", password=PASSWORD + "2") is False
    text = path.read_text()
    assert PASSWORD not in text and "pbkdf2_sha256$" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(Exception, match="at least 8"):
        accounts.add_reviewer(path, name="bo", password="short")
    with pytest.raises(Exception, match="reviewer names"):
        accounts.add_reviewer(path, name="x_password_hash", password=PASSWORD)
    accounts.remove_reviewer(path, name="ana")
    assert accounts.read_reviewers(path) == {}


def test_rpp_serve_add_user_reads_the_password_from_stdin(db_path: Path) -> None:
    rpp = Path(sys.executable).parent / "rpp"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(
        [str(rpp), "serve", "--index-dir", str(db_path.parent), "--add-user", "ana"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Added reviewer ana" in done.stderr
    listed = subprocess.run(
        [str(rpp), "serve", "--index-dir", str(db_path.parent), "--list-users"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert listed.stdout.split() == ["ana"]
    from datasette_auth_passwords.utils import verify_password

    assert verify_password(PASSWORD, accounts.read_reviewers(db_path.parent / "reviewers.json")["ana"])


def test_a_writable_server_on_every_interface_needs_an_allowed_host(db_path: Path) -> None:
    rpp = Path(sys.executable).parent / "rpp"
    done = subprocess.run(
        [str(rpp), "serve", "--index-dir", str(db_path.parent), "--writable", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1 and "--allow-host" in done.stderr


def test_a_logged_in_reviewer_records_a_decision_as_the_actor(writable_ds: Datasette, db_path: Path) -> None:
    ds = writable_ds

    async def main() -> None:
        anonymous = await ds.client.get(SEARCH)
        assert 'class="rpp-review"' not in anonymous.text and "log in" in anonymous.text
        cookies = await _login(ds)
        assert "ds_actor" in cookies
        page = await ds.client.get(SEARCH, cookies=cookies)
        assert 'class="rpp-review"' in page.text and "Reviewing as <strong>ana</strong>" in page.text
        assert 'name="reviewer"' not in page.text  # the reviewer is who logged in, not a form field
        form = {"csrftoken": _token(page.text), "passage": TARGET, "dimension": DIM, "decision": "reject",
                "next": SEARCH, "reviewer": "mallory"}
        response = await ds.client.post("/-/rpp-review", data=form, cookies=cookies)
        assert response.status_code == 302 and response.headers["location"] == SEARCH
        filtered = (await ds.client.get("/-/rpp-search.json?" + urllib.parse.urlencode(
            {"q": "principal supervisors", "mode": "bm25", "dimension": DIM}))).json()
        assert TARGET not in {r["id"] for r in filtered["results"]}
        bad = await ds.client.post("/-/rpp-review", data={**form, "dimension": "no-such-dim"}, cookies=cookies)
        assert bad.status_code == 400 and "no-such-dim" in bad.text

    run(main())
    assert labels(db_path) == [(TARGET, DIM, "reject", "ana")]


def test_wrong_password_unknown_user_and_anonymous_posts_write_nothing(writable_ds: Datasette, db_path: Path) -> None:
    ds = writable_ds

    async def main() -> None:
        assert "ds_actor" not in await _login(ds, password="wrong password")
        assert "ds_actor" not in await _login(ds, name="mallory")
        # A valid CSRF pair (from the login form) but no login: refused by the permission check.
        login_page = await ds.client.get("/-/login")
        cookies = {"ds_csrftoken": login_page.cookies["ds_csrftoken"]}
        form = {"csrftoken": _token(login_page.text), "passage": TARGET, "dimension": DIM, "decision": "accept"}
        anonymous = await ds.client.post("/-/rpp-review", data=form, cookies=cookies)
        assert anonymous.status_code == 403 and "log in" in anonymous.text
        # A signed actor cookie for someone who is not a reviewer: refused too.
        forged = {**cookies, "ds_actor": ds.sign({"a": {"id": "mallory"}}, "actor")}
        assert (await ds.client.post("/-/rpp-review", data=form, cookies=forged)).status_code == 403

    run(main())
    assert labels(db_path) == []


def test_cookieless_and_cross_site_posts_are_refused_before_datasette(writable_ds: Datasette, db_path: Path) -> None:
    ds = writable_ds
    actor = ds.sign({"a": {"id": "ana"}}, "actor")
    form = {"passage": TARGET, "dimension": DIM, "decision": "accept"}

    async def main() -> None:
        # curl -X POST: no cookie, no token.
        bare = await ds.client.post("/-/rpp-review", data=form)
        assert bare.status_code == 403 and "CSRF" in bare.text
        # A form auto-submitted from another site (port) by a browser.
        for headers in ({"origin": "http://127.0.0.1:9999"}, {"sec-fetch-site": "same-site"},
                        {"sec-fetch-site": "cross-site"}, {"origin": "null"}):
            page = await ds.client.get(SEARCH, cookies={"ds_actor": actor})
            cookies = {"ds_actor": actor, "ds_csrftoken": page.cookies["ds_csrftoken"]}
            response = await ds.client.post(
                "/-/rpp-review", data={**form, "csrftoken": _token(page.text)}, cookies=cookies, headers=headers
            )
            assert response.status_code == 403 and "cross-site" in response.text, headers
        # Cookies without the form's token: asgi-csrf refuses.
        no_token = await ds.client.post("/-/rpp-review", data=form, cookies={"ds_actor": actor, "ds_csrftoken": "x"})
        assert no_token.status_code == 403
        # The same form from this site goes through.
        page = await ds.client.get(SEARCH, cookies={"ds_actor": actor})
        ok = await ds.client.post(
            "/-/rpp-review", data={**form, "csrftoken": _token(page.text)},
            cookies={"ds_actor": actor, "ds_csrftoken": page.cookies["ds_csrftoken"]},
            headers={"origin": "http://localhost", "sec-fetch-site": "same-origin"},
        )
        assert ok.status_code == 302

    run(main())
    assert labels(db_path) == [(TARGET, DIM, "accept", "ana")]


def test_host_allowlist_and_frame_headers(writable_ds: Datasette, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = writable_ds

    async def main() -> None:
        home = await ds.client.get("/")
        assert home.status_code == 200
        assert home.headers["x-frame-options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in home.headers["content-security-policy"]
        rebound = await ds.client.get("/", headers={"host": "attacker.example"})
        assert rebound.status_code == 400 and "attacker.example" in rebound.text
        monkeypatch.setenv(stores.ALLOWED_HOSTS_ENV, "corpus.example.org")
        assert (await ds.client.get("/", headers={"host": "corpus.example.org:8001"})).status_code == 200
        assert (await ds.client.get("/", headers={"host": "attacker.example"})).status_code == 400

    run(main())


def test_no_page_lists_the_reviewers_login_names(writable_ds: Datasette) -> None:
    async def main() -> None:
        for path in ("/-/metadata.json", "/-/metadata", "/-/metadata.json/"):
            page = await writable_ds.client.get(path)
            assert page.status_code == 404 and "ana" not in page.text, path
        assert (await writable_ds.client.get("/-/versions.json")).status_code == 200

    run(main())


@pytest.mark.parametrize(
    "value",
    ["//evil.example/x", "/\t/evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example/",
     "/\n/evil.example", " //evil.example", "/ /evil.example", "javascript:alert(1)", ""],
)
def test_next_redirects_stay_on_this_site(value: str) -> None:
    assert safe_next(value, default="/home") == "/home"


def test_next_keeps_a_local_path_with_its_query() -> None:
    assert safe_next("/-/rpp-search?q=a+b&mode=bm25", default="/") == "/-/rpp-search?q=a+b&mode=bm25"


# Datasette turns on SQLite callback tracebacks: the refused calls are reported as unraisable.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sql_embedding_functions_are_rationed(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`select count(rpp_embed('x'||pk)) from passages` stops after the ration instead of burning CPU."""
    monkeypatch.setattr(sqlfuncs, "SQL_BUDGET", sqlfuncs.SqlBudget(budget=3, window_s=60))
    ds = Datasette([str(db_path)])

    def sql(text: str) -> str:
        return "/rpp.json?" + urllib.parse.urlencode({"sql": text, "_shape": "array"})

    async def main() -> tuple[Any, Any, Any]:
        first = await ds.client.get(sql("select length(rpp_embed('principals')) as n"))
        assert first.status_code == 200
        # Six new texts in one query: stopped at the ration (SQLite reports "user-defined
        # function raised exception"; the reason is in the server log).
        flood = await ds.client.get(sql("select count(rpp_embed('q' || pk)) as n from passages"))
        # A text already embedded costs nothing: a repeated semantic query still works.
        again = await ds.client.get(sql("select length(rpp_embed('principals')) as n"))
        long_text = await ds.client.get("/rpp.json?" + urllib.parse.urlencode(
            {"sql": f"select rpp_embed('{'x' * 2000}') as v", "_shape": "array"}))
        return flood, again, long_text

    flood, again, long_text = run(main())
    assert flood.status_code == 400 and "user-defined function raised exception" in json.dumps(flood.json())
    assert len(sqlfuncs.SQL_BUDGET._times) == 3  # noqa: SLF001 - 'principals' and two of the flood
    assert again.status_code == 200 and again.json() == [{"n": 4 * 384}]
    assert long_text.status_code == 400
