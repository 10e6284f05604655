"""The scheduler process: APScheduler 3.x in UTC driving jobs over the posts table."""

import logging
import signal
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from characters.config import ConfigError, load_settings
from characters.db import make_engine

log = logging.getLogger("greenroom.scheduler")


def build_scheduler() -> BlockingScheduler:
    """Create the scheduler with an in-memory job store in UTC; jobs are added as publishing lands."""
    return BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})


def main() -> None:
    """Validate settings, check the database is reachable, then run until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    try:
        settings = load_settings()
    except ConfigError as error:
        raise SystemExit(str(error)) from None
    engine = make_engine(settings.database_url)
    with engine.connect():
        pass
    scheduler = build_scheduler()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    log.info("scheduler started on %s; no publishing channels are wired yet",
             engine.url.render_as_string(hide_password=True))
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()
