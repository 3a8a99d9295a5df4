"""The HTTP API (aiohttp): the app factory, a module per resource, the request guard, schemas, OpenAPI."""
