"""The OpenAPI document and its docs page: Swagger UI served from this server (no CDN), or a plain list."""

from pathlib import Path

from flask import Response, current_app, jsonify, render_template, url_for

from web.api import bp
from web.api.spec import DESCRIPTION, TITLE, VERSION, document

# Built by `make` from the swagger-ui-dist npm package into web/static/vendor/ (not committed).
SWAGGER_UI = "vendor/swagger-ui"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
def openapi() -> Response:
    """Return the OpenAPI 3.1 document generated from the API's routes and models."""
    return jsonify(document())


@bp.get("/docs")
def docs() -> str:
    """Show the interactive docs (Swagger UI), or a list of the operations when its files are not built."""
    static = Path(current_app.static_folder or "")
    has_ui = (static / SWAGGER_UI / "swagger-ui-bundle.js").is_file()
    operations = [(method.upper(), path, item.get("summary", ""), (item.get("tags") or [""])[0])
                  for path, path_item in document()["paths"].items()
                  for method, item in path_item.items() if method in HTTP_METHODS]
    return render_template("api/docs.html", title=TITLE, version=VERSION, description=DESCRIPTION, has_ui=has_ui,
                           spec_url=url_for("api.openapi"), operations=sorted(operations, key=lambda op: op[3]),
                           swagger=SWAGGER_UI)
