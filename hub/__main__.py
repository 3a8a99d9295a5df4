"""`python -m hub` is the `notifyhub` command."""

from hub.cli.main import main

main()
