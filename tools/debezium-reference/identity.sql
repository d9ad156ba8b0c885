-- Replica identities, TOAST, composite keys and schema changes; run against a fresh database.
CREATE TABLE r_default (id int PRIMARY KEY, note text, big text);
ALTER TABLE r_default ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE r_full (id int PRIMARY KEY, note text, big text);
ALTER TABLE r_full ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE r_full REPLICA IDENTITY FULL;
CREATE TABLE r_index (id int PRIMARY KEY, code text NOT NULL, note text);
CREATE UNIQUE INDEX r_index_code ON r_index (code);
ALTER TABLE r_index REPLICA IDENTITY USING INDEX r_index_code;
CREATE TABLE r_nothing (id int PRIMARY KEY, note text);
ALTER TABLE r_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE r_composite (b int, a text, note text, PRIMARY KEY (b, a));
CREATE TABLE r_evolve (id int PRIMARY KEY, name text, amount int);
CREATE TABLE r_defaults (id int PRIMARY KEY, note text DEFAULT 'none', n int DEFAULT 5, plain text);
