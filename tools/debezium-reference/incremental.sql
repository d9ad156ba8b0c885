-- Incremental snapshots (issue 17): a table with rows before the connector starts (snapshot.mode=no_data,
-- so only the incremental snapshot reads them), Debezium's signal table, and a keyless-free second table.
-- Captured with signal.data.collection=public.debezium_signal incremental.snapshot.chunk.size=3.
CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));
CREATE TABLE items (id int PRIMARY KEY, label text, qty int);
INSERT INTO items SELECT g, 'item ' || g, g * 10 FROM generate_series(1, 8) g;
CREATE TABLE tags (a text, b int, note text, PRIMARY KEY (a, b));
INSERT INTO tags VALUES ('x', 1, 'one'), ('x', 2, 'two'), ('y', 1, 'three');
