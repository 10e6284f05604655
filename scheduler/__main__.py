"""`python -m scheduler`: run the publishing scheduler."""

from scheduler.process import main

main()
