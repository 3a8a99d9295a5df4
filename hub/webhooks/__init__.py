"""Client webhooks: events, Standard Webhooks signing, the delivery sender, where URLs may point."""
