"""Screens and dialogs of the agent console."""
