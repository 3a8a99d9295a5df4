"""Shared fixtures: one classifier over the shipped model for the whole nlu test run."""

from __future__ import annotations

import pytest

from nlu import Classifier


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The shipped model, loaded once (loading is the slow part)."""
    return Classifier()
