"""Publication: the audited marts copied into `published` / `published_detail` after a passed
quality gate, as declared in the dbt models' `meta.publication`."""
