"""Classifiers: turn each scrubbed post into what analysts filter and count by (`ml.*`)."""
