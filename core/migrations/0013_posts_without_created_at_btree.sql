-- raw.posts loses its B-tree on created_at (landing throughput). It dates from the
-- unpartitioned table (0002); since 0009 a time range is answered by partition pruning (one
-- partition per UTC month) and, within a month, by the BRIN index on created_at (posts land
-- roughly in time order, so its block ranges are tight). Nothing reads raw.posts by an exact
-- created_at: the marts' incremental builds and the classifier select by post_id (the primary
-- key), reclassification by date range prunes to its months and scans by post_id.
-- Each landed post wrote one entry into it: measured with a direct COPY of 200,000 prepared
-- demo posts (a fresh database per variant, four rounds interleaved, quiet machine,
-- 2026-12-06), PostgreSQL CPU 13.1-15.2 µs per post with it, 11.8-13.3 µs without.
SET ROLE monitor_loader;
DROP INDEX raw.posts_created_at_idx;
RESET ROLE;
