"""The OpenAPI document is generated from the code, public, and complete; the docs page needs no network."""

import re

import pytest

from web.api import docs

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def _operations(document):
    return [(method, path, item) for path, path_item in document["paths"].items()
            for method, item in path_item.items() if method in HTTP_METHODS]


def test_the_document_covers_every_api_route_and_nothing_else(app, document):
    routes = {(method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              and rule.endpoint not in ("api.openapi", "api.docs", "api.static")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert {(method, path) for method, path, _ in _operations(document)} == routes
    assert document["openapi"].startswith("3.1")
    assert len(routes) > 40


def test_every_operation_is_named_authenticated_and_documents_its_errors(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A personal access token: grn_…"}
    assert document["security"] == [{"bearerAuth": []}]
    names = [item["operationId"] for _, _, item in _operations(document)]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z_]+", name) for name in names)
    for method, path, item in _operations(document):
        assert item["summary"], (method, path)
        assert item["tags"], (method, path)
        for status in ("401", "403", "404", "422", "429"):
            schema = item["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
        if method != "get":
            assert "409" in item["responses"], (method, path)


def test_file_answers_are_documented_as_files(document):
    export = document["paths"]["/api/v1/characters/{slug}/card"]["get"]["responses"]["200"]["content"]
    assert export["image/png"]["schema"] == {"type": "string", "format": "binary"}
    upload = document["paths"]["/api/v1/character-cards"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]


def test_the_docs_page_serves_swagger_ui_from_this_server(client, monkeypatch, tmp_path):
    vendor = tmp_path / "static" / docs.SWAGGER_UI
    vendor.mkdir(parents=True)
    (vendor / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    monkeypatch.setattr(client.application, "static_folder", str(tmp_path / "static"))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b'id="swagger-ui"' in page.data
    sources = re.findall(rb'(?:src|href)="([^"]+)"', page.data)
    assert b"/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
    assert b"/api/v1/static/docs.js" in sources
    assert all(source.startswith(b"/") for source in sources), sources
    assert client.get("/api/v1/static/docs.js").status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_without_the_built_assets_the_page_lists_the_operations(client, monkeypatch, tmp_path):
    monkeypatch.setattr(client.application, "static_folder", str(tmp_path))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"swagger-ui-bundle" not in page.data
    assert b"/api/v1/posts/{post_id}/approve" in page.data
    assert b"Approve a post in review" in page.data
