"""The API words a pydantic finding as the web forms do (one rule), in its own error shape."""

import pytest

from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


def test_a_validator_message_reads_as_a_sentence_in_the_422(client, session):
    world = make_api_world(session)
    blank = client.post("/api/v1/campaigns", headers=world.headers("editor"), json={"name": "  "})
    assert blank.status_code == 422
    assert blank.json["error"] == {"code": "validation_error", "message": "name: A campaign needs a name",
                                   "details": [{"field": "name", "message": "A campaign needs a name",
                                                "type": "value_error"}]}
    backwards = client.post("/api/v1/campaigns", headers=world.headers("editor"),
                            json={"name": "X", "starts_on": "2030-03-02", "ends_on": "2030-03-01"})
    assert backwards.json["error"]["message"] == "body: The campaign cannot end before it starts"
