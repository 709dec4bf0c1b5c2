"""MIPEX import and country reconciliation, on the two real files in ../shared/data/reference/mipex
(which disagree for Austria and Luxembourg) and on a project-written file with several editions
and every policy strand."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from extractors.statistics.ingest import import_mipex
from extractors.statistics.mipex import reconcile
from extractors.statistics.reference import CountryResolver

ISO3_FILE = "mipex2010_overall_30countries_manatschal_bernauer2016.csv"
NAMES_FILE = "mipex_overall_by_country_kvdbrach.csv"

# Made-up scores in the layout of the MIPEX dataset download (config: mipex_dataset_strands).
STRANDS_CSV = """Country,Year,MIPEX,Labour Market Mobility,Family Reunification,Education,Health,Political Participation,Permanent Residence,Access to Nationality,Anti-discrimination
Sweden,2014,78,98,78,77,62,71,79,73,85
Sweden,2019,86,91,71,93,83,75,100,83,94
Greece,2019,46,50,49,44,47,25,56,36,63
Czechia,2019,,48,64,40,54,15,62,29,62
Atlantis,2019,50,50,50,50,50,50,50,50,50
"""


@pytest.fixture
def mipex_dir(reference_dir: Path, tmp_path: Path) -> Path:
    src = reference_dir / "mipex"
    for name in (ISO3_FILE, NAMES_FILE):
        if not (src / name).is_file():
            pytest.skip(f"{src / name} not present (see docs/test-data.md)")
        (tmp_path / name).symlink_to(src / name)  # read in place, never copied
    (tmp_path / "mipex_dataset.csv").write_text(STRANDS_CSV, encoding="utf-8")
    return tmp_path


def test_country_reconciliation() -> None:
    c = CountryResolver()
    for given in ("EL", "GR", "GRC", "Greece", "Ελλάδα", "greece "):
        assert c.resolve(given) == "EL", given
    for given in ("UK", "GB", "GBR", "United Kingdom", "Great Britain"):
        assert c.resolve(given) == "UK", given
    assert c.resolve("Czech Republic") == c.resolve("Czechia") == c.resolve("CZE") == "CZ"
    assert c.resolve("Kosovo*") == "XK"
    assert c.resolve("Turkey") == c.resolve("Türkiye") == "TR"
    assert c.resolve("Atlantis") is None
    assert c.resolve("") is None


def test_real_files_reconcile_and_their_disagreements_are_reported(
    mipex_dir: Path, project_config
) -> None:
    specs = {f.id: f for f in project_config.mipex.files}
    report = reconcile(
        [
            (mipex_dir / ISO3_FILE, specs["mipex2010_manatschal_bernauer"]),
            (mipex_dir / NAMES_FILE, specs["mipex2010_by_country_name"]),
        ],
        CountryResolver(),
    )
    assert report.unmatched == []  # ISO3 codes and names ("Czech Republic") all reconcile
    assert report.files == {"mipex2010_manatschal_bernauer": 30, "mipex2010_by_country_name": 32}
    conflicts = {(c.country_code, c.strand): c.scores for c in report.conflicts}
    assert conflicts == {
        ("AT", "overall"): {
            "mipex2010_manatschal_bernauer": 42.0,
            "mipex2010_by_country_name": 41.0,
        },
        ("LU", "overall"): {
            "mipex2010_manatschal_bernauer": 59.0,
            "mipex2010_by_country_name": 60.0,
        },
    }
    scores = {(s.source_file, s.country_code): s for s in report.scores}
    assert scores[("mipex2010_manatschal_bernauer", "EL")].country_name == "GRC"
    assert scores[("mipex2010_manatschal_bernauer", "UK")].score == 57
    assert scores[("mipex2010_by_country_name", "CZ")].country_name == "Czech Republic"
    assert scores[("mipex2010_by_country_name", "HR")].score == 42  # only in the names file


def test_import_lands_scores_files_the_unmatched_and_is_idempotent(
    warehouse_url: str, mipex_dir: Path, project_config
) -> None:
    result = import_mipex(warehouse_url, mipex_dir, config=project_config)
    assert result["files"] == {
        "mipex2010_manatschal_bernauer": 30,
        "mipex2010_by_country_name": 32,
        "mipex_dataset_strands": 35,  # 4 countries x 9 strands, minus Czechia's blank overall
    }
    assert result["unmatched"] == [
        "mipex_dataset_strands:6 'Atlantis': country not in dbt/seeds/countries.csv"
    ]
    assert len(result["conflicts"]) == 2
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT edition, strand, score FROM raw.mipex_scores WHERE country_code = 'SE' "
            "AND source_file = 'mipex_dataset_strands' ORDER BY edition, strand"
        )
        sweden = cur.fetchall()
        cur.execute("SELECT reason, record FROM raw.rejected_records WHERE source = 'mipex'")
        rejected = cur.fetchall()
    assert len(sweden) == 18  # two editions x (overall + 8 strands)
    assert (2019, "access_to_nationality", 83.0) in sweden
    assert (2014, "overall", 78.0) in sweden
    assert rejected == [
        ("country not in dbt/seeds/countries.csv", "mipex_dataset_strands:6: Atlantis")
    ]

    again = import_mipex(warehouse_url, mipex_dir, config=project_config)
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT inserted, updated, unchanged, rejected FROM raw.import_runs WHERE run_id = %s",
            (again["run_id"],),
        )
        assert cur.fetchone() == (0, 0, 97, 1)
        cur.execute("SELECT count(*) FROM raw.rejected_records WHERE source = 'mipex'")
        assert cur.fetchone() == (1,)  # the same rejection is not filed twice


def test_wrong_column_names_say_which_entry_to_fix(tmp_path: Path, project_config) -> None:
    spec = next(f for f in project_config.mipex.files if f.id == "mipex_dataset_strands")
    (tmp_path / spec.filename).write_text("Land,Jahr,MIPEX\nSchweden,2019,86\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"column\(s\).*'Country'.*mipex_dataset_strands"):
        reconcile([(tmp_path / spec.filename, spec)], CountryResolver())
