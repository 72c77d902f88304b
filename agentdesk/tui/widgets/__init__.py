"""Widgets of the agent console."""
