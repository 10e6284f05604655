"""The Greenroom web app: `create_app()` is a list of register_* calls and does no I/O."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by create_app, so the `greenroom` command (web.cli) starts without Flask
    from flask import Flask

    from characters.core.config import Settings


def create_app(test_config: dict[str, Any] | None = None, settings: "Settings | None" = None) -> "Flask":
    """Build the Flask app from settings (environment and .env), with `test_config` overriding."""
    from flask import Flask

    from characters.core.config import load_settings

    settings = settings or load_settings()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(_flask_config(settings))
    if test_config:
        app.config.update(test_config)
    app.extensions["greenroom.settings"] = settings

    from web import database, errors, extensions, security

    security.init_converters(app)
    database.init_database(app)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    security.init_login(app)
    security.init_headers(app)
    errors.register_error_handlers(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    return app


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let the serving threads share `arenas` glibc malloc arenas instead of one each (MALLOC_ARENA_MAX).

    Each of waitress's threads otherwise grows its own heap, which fragments and is rarely given back: the web
    bench measured 313 MB resident after its load with one arena per thread, 278 MB with two. Call it before the
    threads start; elsewhere than glibc it does nothing.
    """
    import ctypes
    import ctypes.util

    m_arena_max = -8  # from glibc's malloc.h
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(m_arena_max, arenas)
    except OSError:
        pass


def warm_up_and_freeze(app: "Flask") -> None:
    """Start-up work done beside serving: planner statistics (SQLite), the era lexicon's index, then freeze.

    SQLite plans from statistics only once ANALYZE has run (PostgreSQL's autovacuum keeps its own): without them it
    reads a character's feed through every published delivery (80 ms at 100k posts instead of 2 ms). Then every
    object start-up made (modules, the app, the lexicon) leaves the garbage collector's full scans, which walked
    those hundreds of thousands of long-lived objects: 50-300 ms pauses on busy pages (docs/performance.md).
    """
    import gc
    import logging

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from characters.consistency import warm_up

    engine = app.extensions["greenroom.engine"]
    if engine.dialect.name == "sqlite":
        try:
            with engine.begin() as connection:
                connection.execute(text("PRAGMA analysis_limit=1000"))  # bounded: ~15 ms at 100k posts
                connection.execute(text("ANALYZE"))
        except OperationalError as error:  # busy with a long write: the next start-up tries again
            logging.getLogger(__name__).warning("ANALYZE skipped: %s", error)
    warm_up()
    gc.collect()
    gc.freeze()


def _flask_config(settings: "Settings") -> dict[str, Any]:
    # Production is served over HTTPS (it sends HSTS), so its cookies never travel in clear text.
    secure_cookies = settings.session_cookie_secure or settings.greenroom_env == "production"
    return {
        "SECRET_KEY": settings.secret_key,
        "DATABASE_URL": settings.database_url,
        "GREENROOM_ENV": settings.greenroom_env,
        "LOGIN_RATE_LIMIT": settings.login_rate_limit,
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_uri,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "MAX_CONTENT_LENGTH": 9 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
    }


def _register_blueprints(app: "Flask") -> None:
    from web import (
        account,
        api,
        audit,
        auth,
        calendar,
        campaigns,
        channels,
        characters,
        conversations,
        drafting,
        feeds,
        inbox,
        members,
        notifications,
        posts,
        scenes,
        tokens,
        workspaces,
    )

    for blueprint in (auth.bp, account.bp, workspaces.home_bp, workspaces.bp, members.bp, characters.bp, posts.bp,
                      drafting.bp, inbox.bp, conversations.bp, calendar.bp, calendar.feed_bp, campaigns.bp, scenes.bp,
                      audit.bp, channels.bp, feeds.bp, tokens.bp, notifications.bp, api.bp):
        app.register_blueprint(blueprint)
    from web import analytics

    app.register_blueprint(analytics.bp)


def _register_template_helpers(app: "Flask") -> None:
    from web import templating

    templating.register(app)
