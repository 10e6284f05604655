"""The editor's live counter gets its limits from the server's one table, as JSON in the page."""

import json
import re
from pathlib import Path

from characters.core.platforms import platform_limits
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles


def test_the_editor_page_carries_the_platform_table(client, auth, session):
    people = workspace_with_roles(session)
    make_character(session, people["workspace"], people["owner"], "Walt Test")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/posts/new").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="platform-limits">(.*?)</script>', page, re.DOTALL)
    assert found is not None
    assert json.loads(found.group(1)) == platform_limits()
    assert json.loads(found.group(1))["bluesky"]["max_chars"] == 300


def test_the_editor_script_has_no_limits_of_its_own():
    script = (Path(__file__).parents[2] / "web" / "static" / "editor.js").read_text(encoding="utf-8")
    assert 'getElementById("platform-limits")' in script
    assert not re.search(r"\b(?:280|300|500)\b", script)
