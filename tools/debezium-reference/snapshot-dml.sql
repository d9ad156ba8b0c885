INSERT INTO s_items VALUES (1, 'one', 1.50), (2, 'two', 2.50), (3, 'three', NULL);
INSERT INTO s_tags VALUES ('a', 1), ('b', 2);
