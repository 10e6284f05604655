"""`greenroom --help` answers quickly: the command imports the heavy libraries only in the commands that use them."""

import subprocess
import sys
from pathlib import Path

HEAVY = ("sklearn", "numpy", "scipy", "vaderSentiment", "sqlalchemy", "flask", "atproto", "mastodon", "openai", "PIL",
         "characters.consistency")
HELP_THEN_LIST_HEAVY = f"""
import sys
from web.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("heavy:", sorted(name for name in {HEAVY!r} if name in sys.modules))
"""


def test_help_imports_none_of_the_heavy_libraries() -> None:
    result = subprocess.run([sys.executable, "-c", HELP_THEN_LIST_HEAVY], capture_output=True, text=True, check=True)
    assert "Usage: " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "heavy: []"


def test_the_installed_command_prints_its_help() -> None:
    greenroom = Path(sys.executable).parent / "greenroom"
    result = subprocess.run([greenroom, "--help"], capture_output=True, text=True, check=True)
    assert "role-play character accounts" in result.stdout
    assert "seed-demo" in result.stdout
