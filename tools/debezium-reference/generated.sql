-- Generated columns: PostgreSQL 18 publishes stored ones with publish_generated_columns = stored.
CREATE TABLE public.lines (id int PRIMARY KEY, price numeric(10,2) NOT NULL, qty int NOT NULL, total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED, label text, shout text GENERATED ALWAYS AS (upper(label)) STORED);
CREATE PUBLICATION dbzpub FOR TABLE public.lines WITH (publish_generated_columns = stored);
