"""Fuzz targets over the sniffers, the URL policy and the decode entry points (see docs/security.md).

python -m fuzz                          # every target, hypothesis, 60 s each
python -m fuzz --seconds 300 image      # one target, longer
python -m fuzz --engine atheris sniff   # coverage-guided (libFuzzer via atheris), if installed
"""
