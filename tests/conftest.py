"""Shared fixtures: the real CLF-C02 bank from the repository's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from exam_core.bank import Bank
from exam_core.bank_files import read_exam_dir
from exam_core.models.bank import Blueprint, Item

ROOT = Path(__file__).resolve().parents[1]
EXAM_DIR = ROOT / "infra" / "bank" / "clf-c02"


@pytest.fixture(scope="session")
def bank_files() -> tuple[Blueprint, list[Item]]:
    return read_exam_dir(EXAM_DIR)


@pytest.fixture(scope="session")
def blueprint(bank_files: tuple[Blueprint, list[Item]]) -> Blueprint:
    return bank_files[0]


@pytest.fixture(scope="session")
def bank(bank_files: tuple[Blueprint, list[Item]]) -> Bank:
    return Bank.build(*bank_files)
