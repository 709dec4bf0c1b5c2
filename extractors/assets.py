"""Names of the assets the extractors produce, shared by the DAGs that emit and consume them
(kept free of Airflow imports so that the package does not depend on the orchestrator).

Downstream DAGs listen with `schedule=[Asset(name=RAW_POSTS_NAME, uri=RAW_POSTS_URI)]`.
"""

RAW_POSTS_NAME = "raw_posts"
# postgres://<host>/<database>/<schema>/<table>: the shape the postgres provider validates.
RAW_POSTS_URI = "postgres://warehouse/monitor/raw/posts"
