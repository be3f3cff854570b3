"""Subcommands: argument parsing plus a thin run() that calls the stage modules."""
