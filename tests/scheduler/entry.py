"""Run the real scheduler process, with every channel kind publishing to a test receiver or to the real networks.

`python -m tests.scheduler.entry [scheduler options]` with GREENROOM_TEST_RECEIVER=http://127.0.0.1:PORT
(and GREENROOM_TEST_LOOKUPS=0 to make earlier deliveries impossible to find). Without GREENROOM_TEST_RECEIVER it is
exactly `python -m scheduler`: the real publishers, credentials and sessions under CHANNEL_SECRETS_KEY.
"""

import os
import sys
from collections.abc import Sequence

from scheduler.process import main as scheduler_main
from scheduler.publishers.registry import registry_for_all_kinds
from tests.scheduler.receiver import HttpPublisher


def main(argv: Sequence[str] | None = None) -> None:
    options = sys.argv[1:] if argv is None else argv
    receiver = os.environ.get("GREENROOM_TEST_RECEIVER")
    if not receiver:
        scheduler_main(options)
        return
    publisher = HttpPublisher(receiver, lookups=os.environ.get("GREENROOM_TEST_LOOKUPS", "1") == "1")
    scheduler_main(options, registry=registry_for_all_kinds(publisher), read_secrets=lambda token: {})


if __name__ == "__main__":
    main()
