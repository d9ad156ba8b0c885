-- column.exclude.list: a secret column left out of one table's events, a pattern leaving out columns of another;
-- run with column.exclude.list=public.c_users.password,public.c_cards.card_.*
CREATE TABLE c_users (id int PRIMARY KEY, name text NOT NULL, password text, email text);
CREATE TABLE c_cards (id int PRIMARY KEY, holder text, card_number text, card_cvv int, note text);
ALTER TABLE c_cards REPLICA IDENTITY FULL;
