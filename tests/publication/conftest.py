"""The publish tests run on the gate tests' warehouse: built once per session, copied for the
module (tests/expectations/conftest.py)."""

from tests.expectations.conftest import built, built_template

__all__ = ["built", "built_template"]
