"""A client's channel accounts (connections), the adapters built from them, routing and long-poll readers."""
