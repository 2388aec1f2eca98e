-- list_creatives `name_contains`: the creative's name as the service folds it (Rust's Unicode
-- lowercase, `store::creatives::fold`), so "école" finds "École" on SQLite (whose LOWER folds ASCII
-- only) as on PostgreSQL. Written with the name; rows from before are filled in by the service at
-- start (`library_store::fill_name_folded`) before it serves a request.
ALTER TABLE storefront_creatives ADD COLUMN name_folded TEXT;
