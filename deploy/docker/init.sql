-- Run once by the postgres image on an empty data directory: a role for Tributary and two tables to capture.
CREATE ROLE cdc WITH LOGIN REPLICATION PASSWORD 'cdc-secret';
CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE public.orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES public.customers (id),
    total numeric(12, 2) NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);
-- Tributary creates the publication for the tables it captures, which needs ownership of them.
ALTER TABLE public.customers OWNER TO cdc;
ALTER TABLE public.orders OWNER TO cdc;
GRANT CREATE ON DATABASE inventory TO cdc;
INSERT INTO public.customers (name, email) VALUES ('Sally Thomas', 'sally.thomas@acme.com'), ('George Bailey', 'gbailey@foobar.com');
INSERT INTO public.orders (customer_id, total) VALUES (1, 19.99), (2, 5.00);
