-- Identifiers a careful operator meets: quotes, spaces, dots, upper case and non-ASCII characters.
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Order.Items v2" ("Id" int PRIMARY KEY, "unit price" numeric(8,2), "Größe" text, "quote""d" text, "dot.ted" int);
CREATE TABLE public."Ünïcødé" (id int PRIMARY KEY, "Ñame" text);
