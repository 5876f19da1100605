"""Fixtures for template checks: template.yaml parsed with cfn-lint's loader (keeps !Ref etc. as dicts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(REPO / "template.yaml"))


@pytest.fixture(scope="session")
def resources(template) -> dict[str, Any]:
    return template["Resources"]
