INSERT INTO "Sales Dept"."Order.Items v2" VALUES (1, 9.99, 'groß', 'a"b', 7);
UPDATE "Sales Dept"."Order.Items v2" SET "Größe" = 'klein' WHERE "Id" = 1;
DELETE FROM "Sales Dept"."Order.Items v2" WHERE "Id" = 1;
INSERT INTO public."Ünïcødé" VALUES (1, 'ñ');
