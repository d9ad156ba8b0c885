-- Tables for the transform goldens (unwrap and routing); run against a fresh database.
CREATE TABLE u_items (id int PRIMARY KEY, name text NOT NULL, category text, price numeric(8,2) DEFAULT 0, tags text[]);
CREATE TABLE u_pairs (a int, b text, v text, PRIMARY KEY (a, b));
ALTER TABLE u_pairs REPLICA IDENTITY FULL;
