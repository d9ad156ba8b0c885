-- message.key.columns: a table keyed by another column than its primary key, one without a primary key, and one with
-- a two-column key picked by a pattern; run with message.key.columns=public.k_orders:customer_id;public.k_nopk:a;(.*).k_multi:c_.*
CREATE TABLE k_orders (id int PRIMARY KEY, customer_id int NOT NULL, region text);
CREATE TABLE k_nopk (a int NOT NULL, b text);
ALTER TABLE k_nopk REPLICA IDENTITY FULL;
CREATE TABLE k_multi (id int PRIMARY KEY, c_b text NOT NULL, x text, c_a int);
ALTER TABLE k_multi REPLICA IDENTITY FULL;
