"""bench: the measuring instrument. ``python -m bench image|audio|video [--quick]``; see bench/README.md."""
