"""The DAG tests replay the sources of the stages they wire: their fixtures come from the
stages' test folders."""

from tests.extractors.social.conftest import wire
from tests.extractors.statistics.conftest import server
from tests.extracts.conftest import published_template, published_url

__all__ = ["published_template", "published_url", "server", "wire"]
