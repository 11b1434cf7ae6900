"""Helpers of the tests: databases and processes (``projects``), tasks, reference models."""
