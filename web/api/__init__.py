"""The JSON API at /api/v1: personal access tokens, pydantic models, one error shape, an OpenAPI document.

Views parse with pydantic, call the same characters/ functions as the web pages, and serialise the result;
the domain decides what each token's member may do.
"""

from flask import Blueprint

from web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates", static_folder="static")
# Tokens, never cookies: a forged cross-site request has no credentials to ride on.
csrf.exempt(bp)

# The modules below register their hooks and routes on `bp`.
from web.api import auth, errors, requests  # noqa: E402

auth.register(bp)
requests.register(bp)
errors.register(bp)

from characters.posting.workflow import StaleVersion  # noqa: E402
from web.api.present import stale_response  # noqa: E402

# Registered here, not in errors.register: the answer carries the post as presented, and present needs errors.
bp.register_error_handler(StaleVersion, stale_response)

from web.api import (  # noqa: E402, F401
    analytics,
    campaigns,
    channels,
    characters,
    conversations,
    docs,
    posts,
    scenes,
    transitions,
    workspace,
)
