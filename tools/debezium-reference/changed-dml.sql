INSERT INTO c_items VALUES (1, 'a', 'n', 1, '\x01', 1.50);
UPDATE c_items SET qty = 2 WHERE id = 1;
UPDATE c_items SET note = NULL, name = 'b' WHERE id = 1;
UPDATE c_items SET data = NULL WHERE id = 1;
DELETE FROM c_items WHERE id = 1;
