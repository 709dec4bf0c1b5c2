-- Each model version's measured errors, per class and language: the confusion counts of a
-- cross-dataset evaluation (classifiers/heads/error_rates.json, written by
-- `python -m classifiers evaluate`). The marts correct classify-and-count shares with them
-- (docs/marts.md, "Shares corrected for classifier error"). Counts, not rates, so that the
-- marts can also say how uncertain the rates are.
SET ROLE monitor_loader;

CREATE TABLE ml.classifier_error_rates (
    task            text NOT NULL,          -- 'areas', 'hate', 'sentiment'
    model_version   text NOT NULL,
    class           text NOT NULL,          -- an area_id, 'hate', 'negative'
    lang            text NOT NULL,          -- ISO 639-1 of the posts, or '*' for all languages
    true_positives  integer NOT NULL CHECK (true_positives >= 0),
    false_negatives integer NOT NULL CHECK (false_negatives >= 0),
    false_positives integer NOT NULL CHECK (false_positives >= 0),
    true_negatives  integer NOT NULL CHECK (true_negatives >= 0),
    evaluation      text NOT NULL,          -- how the counts were measured
    PRIMARY KEY (task, model_version, class, lang),
    FOREIGN KEY (task, model_version) REFERENCES ml.model_versions (task, model_version)
        ON DELETE CASCADE
);

GRANT SELECT ON ml.classifier_error_rates TO monitor_transformer;
RESET ROLE;
