-- Several tables in one transaction, one row updated twice, a transactional message.
BEGIN;
INSERT INTO t_orders VALUES (1, 'ann', 10.00);
INSERT INTO t_lines VALUES (1, 1, 'A'), (1, 2, 'B');
UPDATE t_orders SET total = 12.50 WHERE id = 1;
UPDATE t_orders SET customer = 'anne' WHERE id = 1;
SELECT pg_logical_emit_message(true, 'audit', 'in-tx');
COMMIT;
-- Rolled back: nothing.
BEGIN;
INSERT INTO t_orders VALUES (2, 'bob', 5.00);
ROLLBACK;
-- Only a table left out of the capture.
INSERT INTO t_ignored VALUES (1, 'filtered');
-- A message outside any transaction, then a transaction holding only a message.
SELECT pg_logical_emit_message(false, 'audit', 'outside');
SELECT pg_logical_emit_message(true, 'audit', 'alone');
-- Deletes and an update across tables.
BEGIN;
DELETE FROM t_lines WHERE order_id = 1 AND line = 2;
UPDATE t_lines SET sku = 'C' WHERE order_id = 1 AND line = 1;
INSERT INTO t_audit VALUES (1, 'x');
COMMIT;
-- A primary-key change (delete, tombstone, create) on its own.
UPDATE t_orders SET id = 3 WHERE id = 1;
-- A truncate.
TRUNCATE t_audit;
-- A captured and a left-out table in one transaction.
BEGIN;
INSERT INTO t_orders VALUES (4, 'dan', 1.00);
INSERT INTO t_ignored VALUES (2, 'mixed');
COMMIT;
