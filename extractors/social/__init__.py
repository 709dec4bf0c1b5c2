"""Social ingestion: connectors for social media, news feeds and file imports, landing posts in
`raw.*` scrubbed, pseudonymised and idempotent on their natural key."""
