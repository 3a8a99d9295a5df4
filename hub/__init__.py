"""notifyhub core: API, cascade, dispatch, CLI."""
