"""Training and held-out data: hand-written seed phrases and the generator that expands them."""
