"""The null bench: thousands of hard negatives per medium, split by original into calibration and report
halves (``python -m bench negatives <medium>``; see bench/README.md, "The null bench")."""
