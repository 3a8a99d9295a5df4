"""The sandbox for integrators: a client scripts its own simulated customers (write, read, follow a link)."""
