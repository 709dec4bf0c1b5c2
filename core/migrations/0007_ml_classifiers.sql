-- Classifier outputs beyond language and areas: sentiment, hate speech, places and
-- tracked keywords. Keyed by post and model version like 0003_ml.sql, so re-classification is
-- explicit and dbt reads exactly the current version of each task (ml.model_versions).
SET ROLE monitor_loader;

CREATE TABLE ml.post_sentiment (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    sentiment     text NOT NULL CHECK (sentiment IN ('negative', 'neutral', 'positive')),
    score         real NOT NULL CHECK (score BETWEEN 0 AND 1),   -- probability of `sentiment`
    p_negative    real NOT NULL CHECK (p_negative BETWEEN 0 AND 1),
    p_neutral     real NOT NULL CHECK (p_neutral BETWEEN 0 AND 1),
    p_positive    real NOT NULL CHECK (p_positive BETWEEN 0 AND 1),
    PRIMARY KEY (post_id, model_version)
);

CREATE TABLE ml.post_hate (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    is_hate       boolean NOT NULL,                               -- probability >= threshold
    probability   real NOT NULL CHECK (probability BETWEEN 0 AND 1),
    PRIMARY KEY (post_id, model_version)
);

-- One row per city a post is about; which evidence named it.
CREATE TABLE ml.post_cities (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    city_code     text NOT NULL,                                  -- Urban Audit code
    from_text     boolean NOT NULL DEFAULT false,                 -- name, exonym or slang tag
    from_hashtag  boolean NOT NULL DEFAULT false,
    from_source   boolean NOT NULL DEFAULT false,                 -- raw.posts.city_hint
    PRIMARY KEY (post_id, model_version, city_code),
    CHECK (from_text OR from_hashtag OR from_source)
);

-- Tracked terms with a keyword-in-context window cut from the scrubbed text.
CREATE TABLE ml.post_keywords (
    post_id       bigint NOT NULL REFERENCES raw.posts (post_id) ON DELETE CASCADE,
    model_version text NOT NULL,
    position      integer NOT NULL CHECK (position >= 0),         -- character offset in the text
    keyword       text NOT NULL,                                  -- normalised (NFC, casefold)
    kind          text NOT NULL CHECK (kind IN ('taxonomy', 'watchlist')),
    label         text NOT NULL,                                  -- area id or watch-list category
    context       text NOT NULL,
    PRIMARY KEY (post_id, model_version, position, keyword, label)
);
CREATE INDEX post_keywords_keyword_idx ON ml.post_keywords (model_version, keyword);

-- "Classified before the post's text last changed?" looks classifications up by post.
CREATE INDEX classified_posts_post_idx ON ml.classified_posts (post_id);

GRANT SELECT ON ml.post_sentiment, ml.post_hate, ml.post_cities, ml.post_keywords
    TO monitor_transformer;
RESET ROLE;
