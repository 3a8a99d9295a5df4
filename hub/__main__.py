"""`python -m hub` is the `notifyhub` command."""

from hub.cli import main

main()
