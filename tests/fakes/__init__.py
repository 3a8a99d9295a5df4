"""Protocol-faithful fake platform servers (VK, OK, Telegram, SMS gateway, SMSC) for tests."""
