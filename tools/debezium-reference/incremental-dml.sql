-- Signals: an incremental snapshot of items (all rows), then of tags with an additional condition; a change to a
-- row while streaming, then a stream insert after the snapshots.
INSERT INTO debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot', '{"data-collections": ["public.items"], "type": "incremental"}');
SELECT pg_sleep(3);
UPDATE items SET qty = 99 WHERE id = 2;
INSERT INTO debezium_signal VALUES ('ad-hoc-2', 'execute-snapshot', '{"data-collections": ["public.tags"], "type": "incremental", "additional-conditions": [{"data-collection": "public.tags", "filter": "a = ''x''"}]}');
SELECT pg_sleep(3);
INSERT INTO items VALUES (9, 'item 9', 90);
