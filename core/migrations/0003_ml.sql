-- Classifier outputs, keyed by post and model version so re-classification is explicit and the
-- marts can read exactly one version per task.
SET ROLE monitor_loader;

CREATE TABLE ml.model_versions (
    task          text NOT NULL,           -- 'language', 'areas', ...
    model_version text NOT NULL,
    description   text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    is_current    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (task, model_version)
);
-- At most one current version per task: the marts never mix versions silently.
CREATE UNIQUE INDEX model_versions_one_current ON ml.model_versions (task) WHERE is_current;

-- One row per post a model version has looked at, even when it found nothing (no area):
-- this is how "not yet classified by the current version" is answered.
CREATE TABLE ml.classified_posts (
    task          text NOT NULL,
    model_version text NOT NULL,
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    classified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task, model_version, post_id),
    FOREIGN KEY (task, model_version) REFERENCES ml.model_versions (task, model_version)
);

CREATE TABLE ml.post_languages (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    lang          text NOT NULL,
    confidence    real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    PRIMARY KEY (post_id, model_version)
);

CREATE TABLE ml.post_areas (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    area_id       text NOT NULL,
    score         real NOT NULL CHECK (score BETWEEN 0 AND 1),
    PRIMARY KEY (post_id, model_version, area_id)
);

GRANT SELECT ON ALL TABLES IN SCHEMA ml TO monitor_transformer;
ALTER DEFAULT PRIVILEGES IN SCHEMA ml GRANT SELECT ON TABLES TO monitor_transformer;
RESET ROLE;
