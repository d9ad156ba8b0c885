-- Transaction metadata (provide.transaction.metadata): several tables per transaction, one of them
-- left out of the capture (table.exclude.list=public.t_ignored). Captured twice: with the publication of
-- all tables (Debezium sees the left-out table's transaction: BEGIN and END with no events) and with
-- publication.autocreate.mode=filtered (PostgreSQL skips that transaction): transaction-metadata[-filtered]-*.
CREATE TABLE t_orders (id int PRIMARY KEY, customer text, total numeric(10,2));
CREATE TABLE t_lines (order_id int, line int, sku text, PRIMARY KEY (order_id, line));
CREATE TABLE t_audit (id int PRIMARY KEY, note text);
CREATE TABLE t_ignored (id int PRIMARY KEY, v text);
