"""The agents' web inbox and operator console at /inbox: server-rendered HTML, a little JavaScript."""
