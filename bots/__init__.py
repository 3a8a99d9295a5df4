"""Channel adapters: one module per platform, all behind `bots.base.BaseChannel`."""
