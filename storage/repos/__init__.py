"""One narrow repository per aggregate."""
