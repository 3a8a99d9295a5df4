"""The `notifyhub` command line: one module per command group, wired in `hub.cli.main`."""
