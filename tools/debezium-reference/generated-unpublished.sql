-- Generated columns, not published (PostgreSQL before 18, or publish_generated_columns = none).
CREATE TABLE public.lines (id int PRIMARY KEY, price numeric(10,2) NOT NULL, qty int NOT NULL, total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED, label text, shout text GENERATED ALWAYS AS (upper(label)) STORED);
CREATE PUBLICATION dbzpub FOR TABLE public.lines;
