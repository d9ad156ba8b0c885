-- Tables that hold rows before the connector starts, for snapshot references.
CREATE TABLE s_items (id int PRIMARY KEY, label text, price numeric(8,2));
CREATE TABLE s_tags (tag text PRIMARY KEY, weight int);
CREATE TABLE s_empty (id int PRIMARY KEY);
