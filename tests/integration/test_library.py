"""The user library through the real ASGI app: API (Bearer and session + CSRF), forms, exports.

Real SQLite (Alembic), the real ingest of the test fixtures plus one extra Kaggle-format line
(an old-style id with a DOI, a journal reference and BibTeX special characters in the title).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from paperfeed.config import Settings
from tests.integration.test_community import CHEAP_ARGON2, PAPER, csrf_from, new_client, signup
from tests.unit.test_citations import parse_bibtex

OLD_ID = "hep-th/9901001"
SNAPSHOT_ONLY = "1812.06145"  # in the snapshot sample, never featured
EXTRA_LINE = {
    "id": OLD_ID,
    "submitter": "Juan Maldacena",
    "authors": "Juan M. Maldacena and Gödel Kurt",
    "title": "The Large $N$ Limit of {Superconformal} Field Theories & 50% of x_1 #1",
    "comments": None,
    "journal-ref": "Adv.Theor.Math.Phys. 2 (1998) 231-252",
    "doi": "10.1023/A:1026654312961",
    "report-no": None,
    "categories": "hep-th",
    "license": None,
    "abstract": "We show that the large $N$ limit of certain conformal field theories...",
    "versions": [{"version": "v1", "created": "Sat, 2 Jan 1999 19:00:00 GMT"}],
    "update_date": "1999-01-02",
    "authors_parsed": [["Maldacena", "Juan M.", ""], ["Kurt", "Gödel", ""]],
}


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


@pytest.fixture
def app(settings, engine, clock, keyword_index, loaded, tmp_path):
    from paperfeed.app import create_app

    extra = tmp_path / "extra.jsonl.gz"
    with gzip.open(extra, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(EXTRA_LINE) + "\n")
    loaded("arxiv-snapshot", extra)
    return create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index)


def bearer(app, username: str) -> TestClient:
    svc = app.state.services
    account = svc.accounts.sign_up(username, f"{username}@example.org", "correct horse battery")
    token = svc.accounts.create_token(account, "test")
    return TestClient(app, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


def tick(clock, minutes: int = 1) -> None:
    """Move the pinned clock on, so saves get distinct times."""
    clock.at += timedelta(minutes=minutes)


def saved_ids(client: TestClient) -> list[str]:
    response = client.get("/api/library")
    assert response.status_code == 200, response.text
    return [item["paper"]["id"] for item in response.json()]


def test_save_and_remove_via_api_are_idempotent(app, clock):
    alice = bearer(app, "alice")
    first = alice.put(f"/api/library/{PAPER}")
    assert first.status_code == 201 and first.json() == {"saved": True}
    again = alice.put(f"/api/library/{PAPER}v2")  # a version suffix names the same paper
    assert again.status_code == 200 and again.json() == {"saved": True}
    assert saved_ids(alice) == [PAPER]

    tick(clock)
    assert alice.put(f"/api/library/{OLD_ID}").status_code == 201
    assert saved_ids(alice) == [OLD_ID, PAPER]  # newest save first

    removed = alice.delete(f"/api/library/{PAPER}")
    assert removed.status_code == 200 and removed.json() == {"saved": False}
    assert alice.delete(f"/api/library/{PAPER}").json() == {"saved": False}
    assert saved_ids(alice) == [OLD_ID]


def test_json_export_is_daily_item_shaped(app):
    alice = bearer(app, "alice")
    alice.put(f"/api/library/{OLD_ID}")
    response = alice.get("/api/library?format=json")
    assert response.headers["content-type"] == "application/json"
    assert "private" in response.headers["cache-control"]
    (item,) = response.json()
    assert item["paper"]["id"] == OLD_ID
    assert item["title"].startswith("The Large $N$ Limit")
    assert item["paper"]["authors"][0] == {"name": "Juan M. Maldacena"}
    assert item["doi"] == "10.1023/A:1026654312961"
    assert item["journalRef"] == "Adv.Theor.Math.Phys. 2 (1998) 231-252"
    assert item["savedAt"].endswith("Z")


def test_bibtex_ris_and_csl_exports(app, clock):
    alice = bearer(app, "alice")
    alice.put(f"/api/library/{OLD_ID}")
    tick(clock)
    alice.put(f"/api/library/{PAPER}")

    bib = alice.get("/api/library", params={"format": "bibtex"})
    assert bib.status_code == 200
    assert bib.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert bib.headers["content-disposition"] == "attachment; filename=paperfeed-library.bib"
    entries = parse_bibtex(bib.content.decode("utf-8"))
    assert [fields["eprint"] for _, _, fields in entries] == [PAPER, OLD_ID]  # newest save first
    _, key, old = entries[1]
    assert key == "maldacena1999large"
    assert old["doi"] == "10.1023/A:1026654312961"
    assert old["primaryClass"] == "hep-th" and old["archivePrefix"] == "arXiv"
    assert old["year"] == "1999" and old["month"] == "jan"
    assert "$N$" in old["title"] and r"\&" in old["title"] and r"50\%" in old["title"]
    assert r"x\_1" in old["title"] and r"\#1" in old["title"]
    assert old["author"] == "Juan M. Maldacena and Gödel Kurt"

    ris = alice.get("/api/library?format=ris")
    assert ris.headers["content-type"] == "application/x-research-info-systems; charset=utf-8"
    assert ris.headers["content-disposition"] == "attachment; filename=paperfeed-library.ris"
    text = ris.content.decode("utf-8")
    assert text.count("TY  - PREP\r\n") == 2 and text.count("ER  - \r\n") == 2
    assert "DO  - 10.1023/A:1026654312961\r\n" in text
    assert "AU  - Maldacena, Juan M.\r\n" in text

    csl = alice.get("/api/library?format=csljson")
    assert csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    assert [item["number"] for item in csl.json()] == [f"arXiv:{PAPER}", f"arXiv:{OLD_ID}"]


def test_unknown_format_unknown_paper_and_anonymous(app):
    alice = bearer(app, "alice")
    bad = alice.get("/api/library?format=docx")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    missing = alice.put("/api/library/9999.99999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert alice.delete("/api/library/9999.99999").status_code == 404
    anonymous = new_client(app)
    for response in (
        anonymous.get("/api/library"),
        anonymous.put(f"/api/library/{PAPER}"),
        anonymous.delete(f"/api/library/{PAPER}"),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    wrong = TestClient(app, headers={"Authorization": "Bearer nope"}).get("/api/library")
    assert wrong.status_code == 401
    assert saved_ids(alice) == []


def test_libraries_are_per_user(app):
    alice, bob = bearer(app, "alice"), bearer(app, "bob")
    alice.put(f"/api/library/{PAPER}")
    bob.put(f"/api/library/{OLD_ID}")
    assert saved_ids(alice) == [PAPER]
    assert saved_ids(bob) == [OLD_ID]
    bob.delete(f"/api/library/{PAPER}")  # not in bob's library: nothing happens to alice's
    assert saved_ids(alice) == [PAPER]


def test_session_api_needs_the_csrf_header_for_writes(app):
    client = new_client(app)
    signup(client, "carol")
    assert client.put(f"/api/library/{PAPER}").status_code == 403  # cookie but no X-CSRF-Token
    token = csrf_from(client.get("/").text)
    assert client.put(f"/api/library/{PAPER}", headers={"X-CSRF-Token": token}).status_code == 201
    assert saved_ids(client) == [PAPER]  # reads need no CSRF token


def test_save_form_on_the_paper_page_and_library_page(app):
    client = new_client(app)
    signup(client, "dave")
    page = client.get(f"/papers/{PAPER}").text
    assert f'action="/papers/{PAPER}/save"' in page and ">Save</button>" in page
    assert 'href="/library"' in page and 'href="/u/dave"' in page

    token = csrf_from(page)
    done = client.post(
        f"/papers/{PAPER}/save", data={"csrf_token": token, "action": "save", "next": f"/papers/{PAPER}"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"/papers/{PAPER}"
    page = client.get(f"/papers/{PAPER}").text
    assert ">Saved</button>" in page and 'name="action" value="remove"' in page

    library = client.get("/library")
    assert library.status_code == 200 and "private" in library.headers["cache-control"]
    assert f'href="/papers/{PAPER}"' in library.text
    for link in ("/library/export.bib", "/library/export.ris", "/library/export.json"):
        assert f'href="{link}"' in library.text
    bib = client.get("/library/export.bib")
    assert bib.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert f"eprint = {{{PAPER}}}" in bib.text
    exported = client.get("/library/export.json")
    assert exported.headers["content-disposition"] == "attachment; filename=paperfeed-library.json"
    assert [i["paper"]["id"] for i in exported.json()] == [PAPER]
    assert client.get("/library/export.docx").status_code == 404

    token = csrf_from(library.text)
    removed = client.post(
        f"/papers/{PAPER}/save", data={"csrf_token": token, "action": "remove", "next": "/library"}
    )
    assert removed.headers["location"] == "/library"
    assert "Nothing saved yet" in client.get("/library").text


def test_save_form_without_csrf_is_refused(app):
    client = new_client(app)
    signup(client, "erin")
    refused = client.post(f"/papers/{PAPER}/save", data={"action": "save"})
    assert refused.status_code == 403
    forged = client.post(f"/papers/{PAPER}/save", data={"action": "save", "csrf_token": "x" * 64})
    assert forged.status_code == 403
    assert saved_ids(client) == []


def test_anonymous_library_pages_send_to_sign_in(app):
    client = new_client(app)
    response = client.get("/library")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/library"
    assert client.get("/library/export.bib").headers["location"].startswith("/login?next=")
    page = client.get(f"/papers/{PAPER}").text
    assert re.search(r'<a class="btn save-button" href="/login\?next=[^"]+"', page)


def test_unknown_paper_form_is_404(app):
    client = new_client(app)
    signup(client, "fred")
    token = csrf_from(client.get("/").text)
    response = client.post("/papers/9999.99999/save", data={"csrf_token": token, "action": "save"})
    assert response.status_code == 404
