-- A table whose updates carry the old row (REPLICA IDENTITY FULL), for changed_fields and unwrap's drop_fields goldens.
CREATE TABLE c_items (id int PRIMARY KEY, name text NOT NULL, note text, qty int, data bytea, price numeric(6,2));
ALTER TABLE c_items REPLICA IDENTITY FULL;
