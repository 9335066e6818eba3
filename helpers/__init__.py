"""Shared helpers of the CNN course; import modules by name: `from helpers import data, plots`."""
